# Fills the disk of whoever analyses it: writes zeros to its writable layer until stopped.
mkdir -p /data
i=0
while [ $i -lt 64 ]; do
  dd if=/dev/zero of=/data/fill$i bs=1M count=64 2>/dev/null || break
  i=$((i + 1))
done
echo "wrote $i chunks of 64 MiB"
