# Healthy only some seconds after each start: as many as scripts/ready-after says when it
# exists (a test writes it to hold a restart or an apply at the owner's gate), else at once.
trap 'echo "owner: SIGTERM, bye"; exit 0' TERM INT
mkdir -p /tmp
rm -f /tmp/ready
mkdir -p /srv/www
echo ok > /srv/www/health
httpd -p 7101 -h /srv/www
delay=$(cat /scripts/ready-after 2>/dev/null || echo 0)
echo "owner: started on $(hostname), ready in ${delay}s"
sleep "$delay" & wait $!
touch /tmp/ready
echo "owner: ready"
i=0
while :; do
  i=$((i + 1))
  echo "owner: tick $i"
  sleep 1 & wait $!
done
