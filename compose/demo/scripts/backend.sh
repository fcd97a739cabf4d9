# backend stand-in: calls MCP_SERVER_URL every second and logs the result.
trap 'echo "backend: SIGTERM, bye"; exit 0' TERM INT
echo "backend: using MCP_SERVER_URL=$MCP_SERVER_URL"
while :; do
  if out=$(timeout 2 wget -q -O - "$MCP_SERVER_URL" 2>&1); then
    echo "backend: MCP reachable at $MCP_SERVER_URL: $out"
  else
    echo "backend: MCP unreachable at $MCP_SERVER_URL" >&2
  fi
  sleep 1 & wait $!
done
