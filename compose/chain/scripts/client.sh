# client.sh: calls WORKER_URL every second and logs the result.
trap 'echo "client: SIGTERM, bye"; exit 0' TERM INT
while :; do
  if out=$(timeout 2 wget -q -O - "$WORKER_URL" 2>&1); then
    echo "client: worker reachable at $WORKER_URL: $out"
  else
    echo "client: worker unreachable at $WORKER_URL" >&2
  fi
  sleep 1 & wait $!
done
