#!/bin/sh
# Isolation probe (run with --network sinkhole, arguments: PORT ADDRESS...): tries to reach each
# address over TCP and UDP on PORT. The e2e test passes every address of the host and listens there.
port="$1"; shift
for a in "$@"; do
  echo "tcp-probe-to-$a" | /bin/nc -w 1 "$a" "$port"; echo "tcp $a: $?"
  /bin/udpsend "$a" "$port" "udp-probe-to-$a"; echo "udp $a: $?"
done
