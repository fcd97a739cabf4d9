# FLOOD_LINES numbered lines as fast as the engine takes them, once /trigger/go exists.
trap 'exit 0' TERM INT
echo "flood: waiting for /trigger/go"
while [ ! -e /trigger/go ]; do sleep 0.1 & wait $!; done
echo "flood: start"
seq 1 "$FLOOD_LINES" | sed 's/^/flood line /'
echo "flood: done"
exec sleep 86400
