# The owner: /health on 7201; while /scripts/crash exists it dies half a second after each start.
trap 'echo "owner: SIGTERM, bye"; exit 0' TERM INT
if [ -f /scripts/crash ]; then
  echo "owner: crashing on purpose (scripts/crash is there)"
  sleep 0.5
  exit 3
fi
mkdir -p /srv/www
echo '{"service":"owner","status":"ok"}' > /srv/www/health
httpd -p 7201 -h /srv/www
echo "owner: serving 7201"
i=0
while :; do
  i=$((i + 1))
  echo "owner: heartbeat $i"
  sleep 1 & wait $!
done
