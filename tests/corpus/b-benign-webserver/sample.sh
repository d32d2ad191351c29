#!/bin/sh
# Benign: a web server on 127.0.0.1:8080 starts, serves one request, and is stopped.
/bin/httpd -f -p 127.0.0.1:8080 -h /www &
PID=$!
/bin/sleep 1
/bin/wget -q -O- http://127.0.0.1:8080/index.html
kill $PID
wait $PID 2>/dev/null
echo "[corpus] web server stopped"
