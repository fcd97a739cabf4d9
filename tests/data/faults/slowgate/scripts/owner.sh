# Healthy READY_AFTER seconds after each start (the marker from a previous run is removed first).
trap 'echo "owner: SIGTERM, bye"; exit 0' TERM INT
mkdir -p /tmp
rm -f /tmp/ready
mkdir -p /srv/www
echo ok > /srv/www/health
httpd -p 7101 -h /srv/www
echo "owner: started on $(hostname), ready in ${READY_AFTER}s"
sleep "${READY_AFTER}" & wait $!
touch /tmp/ready
echo "owner: ready"
i=0
while :; do
  i=$((i + 1))
  echo "owner: tick $i"
  sleep 1 & wait $!
done
