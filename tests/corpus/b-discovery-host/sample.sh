#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): an implant surveying the host it landed on.
# Every network attempt goes to 127.0.0.1 (and fails without a network); the stub tools in /usr/bin
# are busybox symlinks that do nothing. Programs are called by full path so that each is an exec.
q() { "$@" >/dev/null 2>&1 || true; }

# services (T1007)
q /bin/ls -la /etc/init.d/
q /usr/bin/systemctl list-units --type=service --state=running
q /usr/bin/service --status-all
# other hosts (T1018): neighbour table, hosts file, a small ping sweep of loopback addresses
q /bin/arp -a
q /bin/ip neigh show
q /bin/cat /etc/hosts
for i in 2 3 4; do q /bin/ping -c 1 -W 1 127.0.0.$i; done
# listening services (T1046) and connections (T1049)
q /usr/bin/nmap -sV -p 22,80,443,6379 127.0.0.1
q /bin/nc -z -w 1 127.0.0.1 20-25
q /bin/netstat -tan
q /usr/bin/ss -tulpn
q /bin/cat /proc/net/tcp
# groups (T1069.001)
q /bin/groups
q /bin/id -Gn
q /bin/cat /etc/group
# time, time zone, language (T1124, T1614, T1614.001)
q /bin/date
q /bin/hwclock -r
q /bin/cat /etc/timezone
q /usr/bin/timedatectl
q /usr/bin/locale
q /bin/cat /etc/default/locale
# shares (T1135) and password policy (T1201)
q /bin/cat /etc/exports
q /usr/bin/showmount -e 127.0.0.1
q /bin/grep PASS_ /etc/login.defs
q /bin/cat /etc/security/pwquality.conf
q /usr/bin/chage -l root
# browser data (T1217)
q /bin/ls -la /root/.mozilla/firefox/
q /bin/find /root -name places.sqlite
q /bin/cat /root/.mozilla/firefox/k3x9.default-release/places.sqlite
# installed and security software (T1518, T1518.001)
q /bin/dpkg -l
q /bin/rpm -qa
q /usr/bin/pip3 list
/bin/ps 2>/dev/null | /bin/grep -E 'falco|auditd|osqueryd|tetragon' >/dev/null 2>&1
q /bin/pidof falco
q /bin/ls /etc/falco
# sandbox checks (T1497.001)
q /bin/cat /sys/class/dmi/id/product_name
q /bin/cat /sys/class/dmi/id/sys_vendor
q /bin/cat /proc/scsi/scsi
q /usr/bin/systemd-detect-virt
q /bin/grep -i hypervisor /proc/cpuinfo
# peripherals (T1120) and drivers (T1652)
q /usr/bin/lsusb
q /bin/ls /sys/bus/usb/devices
q /bin/cat /proc/bus/input/devices
q /bin/lsmod
q /bin/cat /proc/modules
q /bin/modinfo vboxguest
# storage (T1680)
q /bin/df -h
q /bin/mount
q /bin/cat /proc/partitions
q /usr/bin/lsblk
# logs (T1654)
q /bin/ls -la /var/log
q /bin/tail -n 5 /var/log/auth.log
q /usr/bin/journalctl -u ssh --no-pager
# internet connectivity (T1016.001): stubs, nothing is sent
q /usr/bin/curl -s ifconfig.me
q /usr/bin/mtr -r -c 1 8.8.8.8
# windows of a desktop session (T1010)
q /usr/bin/wmctrl -l
q /usr/bin/xdotool getactivewindow getwindowname
echo "[corpus] host discovery done"
