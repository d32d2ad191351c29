#!/bin/sh
# Known actions; tests/e2e asserts on each of them.
cat /etc/hostname > /dev/null
echo 'payload' > /tmp/dropped.sh
chmod 755 /tmp/dropped.sh
/bin/busybox sh -c 'exit 0'
nc 127.0.0.1 4444 < /dev/null
mkdir /tmp/work
cd /tmp/work && touch rel.txt
exit 7
