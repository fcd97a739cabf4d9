# serve.sh NAME PORT: /health on PORT and a steady log; exits promptly on SIGTERM.
name="$1"; port="$2"
trap 'echo "$name: SIGTERM, bye"; exit 0' TERM INT
mkdir -p "/srv/$name"
echo "{\"service\":\"$name\",\"status\":\"ok\"}" > "/srv/$name/health"
httpd -p "$port" -h "/srv/$name" || echo "$name: cannot listen on $port" >&2
echo "$name: serving $port"
i=0
while :; do
  i=$((i + 1))
  echo "$name: heartbeat $i"
  sleep 1 & wait $!
done
