# mcp-server stand-in: /health on 9001, a second listener on 9002, a steady log.
trap 'echo "mcp-server: SIGTERM, bye"; exit 0' TERM INT
mkdir -p /srv/mcp /srv/ws
echo '{"status":"ok"}' > /srv/mcp/health
echo 'ws' > /srv/ws/index.html
if ! httpd -p "${MCP_HTTP_PORT:-9001}" -h /srv/mcp; then
  echo "mcp-server: cannot listen on ${MCP_HTTP_PORT:-9001}" >&2
fi
if ! httpd -p "${MCP_WS_PORT:-9002}" -h /srv/ws; then
  echo "mcp-server: cannot listen on ${MCP_WS_PORT:-9002}" >&2
fi
echo "mcp-server: serving ${MCP_HTTP_PORT:-9001} and ${MCP_WS_PORT:-9002}"
i=0
while :; do
  i=$((i + 1))
  echo "mcp-server: tool call $i handled"
  sleep 1 & wait $!
done
