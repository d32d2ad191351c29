#!/bin/sh
# Credential access: password hashes (T1003.008), credential files (T1552.001), private keys
# (T1552.004). All the files are fakes created when the image was built.
/bin/cat /etc/shadow > /dev/null
/bin/cat /etc/gshadow /etc/security/opasswd > /dev/null
/bin/cat /root/.aws/credentials > /dev/null
/bin/cat /root/.docker/config.json /root/.kube/config /root/.git-credentials /root/.netrc > /dev/null
/bin/grep -i password /app/.env > /dev/null
/bin/grep -rn "BEGIN .*PRIVATE" /root /srv > /dev/null
/bin/cat /root/.ssh/id_rsa.pub > /dev/null
/bin/cp /root/.ssh/id_rsa /tmp/k1
/bin/cat /etc/ssh/ssh_host_ed25519_key > /dev/null
/bin/base64 /srv/tls/server.key > /dev/null
/bin/rm -f /tmp/k1
echo "[corpus] credentials done"
