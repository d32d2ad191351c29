#!/bin/sh
# Web protocols (T1071.001): netcat speaking HTTP to a "C2" in a polling loop, and a beacon
# program checking in repeatedly. Everything targets 127.0.0.1:8080, where nothing listens.
for i in 1 2 3; do
  printf 'GET /task HTTP/1.0\r\n\r\n' | /bin/nc 127.0.0.1 8080 || true
  /bin/sleep 0.2
done
/usr/lib/.beacon
# Three check-ins of a client started by the loop, to a documentation address that is never
# reached (no network in the sandbox): the beacon shape with a remote endpoint.
for i in 1 2 3; do
  printf 'GET /task HTTP/1.0\r\n\r\n' | /bin/nc -w 1 192.0.2.80 80 2>/dev/null || true
done
echo "[corpus] web c2 done"
