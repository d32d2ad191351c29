#!/bin/sh
# Container escape attempts, module loading, setuid, loader hijack, disabling defenses.
# Every one is denied in the sandbox (no capabilities); the attempts are what matters.
/bin/mkdir -p /mnt/cg
/bin/mount -t cgroup -o rdma cgroup /mnt/cg 2>/dev/null
/bin/unshare -U -r /bin/true 2>/dev/null
echo '|/tmp/x' > /proc/sys/kernel/core_pattern 2>/dev/null
/bin/cat /var/run/docker.sock 2>/dev/null
/bin/nsenter -t 1 -m /bin/true 2>/dev/null
/bin/insmod /tmp/rootkit.ko 2>/dev/null
cp /bin/busybox /tmp/rootsh && /bin/chmod u+s /tmp/rootsh
echo /tmp/hook.so > /etc/ld.so.preload
/bin/env LD_PRELOAD=/tmp/hook.so /bin/true
/usr/sbin/setenforce 0 2>/dev/null
exit 0
