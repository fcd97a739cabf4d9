# vscode stand-in: a web server on 8080 and a steady log.
# PID 1 ignores SIGTERM unless it traps it: stop within a second, not after 10 s.
trap 'echo "vscode: SIGTERM, bye"; exit 0' TERM INT
mkdir -p /srv/www
echo '<html><body>vscode stand-in</body></html>' > /srv/www/index.html
httpd -p 8080 -h /srv/www
echo "vscode: serving 8080"
i=0
while :; do
  i=$((i + 1))
  echo "vscode: editor heartbeat $i"
  sleep 1 & wait $!
done
