# One line of 10 MiB (the engine splits it into 16 KiB pieces), then an ordinary one.
echo "before the long line"
head -c 10485760 /dev/zero | tr '\000' 'x'
echo
echo "after the long line"
exec sleep 86400
