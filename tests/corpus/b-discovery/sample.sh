#!/bin/sh
# Discovery burst: system (T1082), user (T1033), accounts (T1087.001), processes (T1057),
# network configuration (T1016), files and directories (T1083).
/bin/uname -a
/bin/cat /proc/version
/bin/cat /etc/os-release
/bin/whoami
/bin/id
/bin/who
/bin/cat /etc/passwd
/bin/cut -d: -f1 /etc/passwd
/bin/ps
/bin/ip addr
/bin/route -n
/bin/netstat -an
/bin/cat /proc/net/route
/bin/find / -maxdepth 2 -name '*.conf'
/bin/ls -la /root /home
echo "[corpus] discovery done"
