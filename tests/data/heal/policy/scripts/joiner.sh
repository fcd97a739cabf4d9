# The joiner: /health on 7202 in owner's namespace; healthy (/tmp/ready) after scripts/joiner-ready-after seconds.
trap 'echo "joiner: SIGTERM, bye"; exit 0' TERM INT
mkdir -p /tmp
rm -f /tmp/ready
mkdir -p /srv/www
echo '{"service":"joiner","status":"ok"}' > /srv/www/health
httpd -p 7202 -h /srv/www || echo "joiner: cannot listen on 7202" >&2
delay=$(cat /scripts/joiner-ready-after 2>/dev/null || echo 0)
echo "joiner: serving 7202, ready in ${delay}s"
sleep "$delay" & wait $!
touch /tmp/ready
i=0
while :; do
  i=$((i + 1))
  echo "joiner: heartbeat $i"
  sleep 1 & wait $!
done
