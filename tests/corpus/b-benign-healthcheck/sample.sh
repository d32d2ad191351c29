#!/bin/sh
# Benign: a health check polling a local service that is not up (connection refused).
for i in 1 2 3; do
  if /bin/wget -q -O- http://127.0.0.1:8080/health; then echo ok; break; fi
  /bin/sleep 0.2
done
echo "[corpus] health check gave up"
