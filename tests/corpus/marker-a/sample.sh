#!/bin/sh
# Opens its own marker path for a while; a concurrent run must never see it.
i=0
while [ $i -lt 20 ]; do
  cat /tmp/marker-a-$i 2>/dev/null
  i=$((i + 1))
  sleep 0.1
done
