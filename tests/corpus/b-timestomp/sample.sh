#!/bin/sh
# Timestomp (T1070.006): a planted binary gets the times of a real one; a file gets an old date.
mkdir -p /usr/bin
/bin/cp /bin/busybox /usr/bin/kupdate
/bin/touch -r /bin/busybox /usr/bin/kupdate
echo x > /tmp/.marker
/bin/touch -d '2019-03-01 10:00' /tmp/.marker
echo "[corpus] timestomp done"
