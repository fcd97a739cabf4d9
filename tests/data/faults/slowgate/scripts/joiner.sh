trap 'echo "joiner: SIGTERM, bye"; exit 0' TERM INT
mkdir -p /srv/www
echo ok > /srv/www/health
httpd -p 7102 -h /srv/www
echo "joiner: started on $(hostname)"
i=0
while :; do
  i=$((i + 1))
  echo "joiner: tick $i"
  sleep 1 & wait $!
done
