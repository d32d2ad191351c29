#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): a domain generation algorithm (T1568.002). It
# derives 30 names from a counter and looks each up until one "answers" with the expected
# address; the names are under example.test and only resolve in sandtrace's sinkhole.
i=0
while [ $i -lt 30 ]; do
  name=$(echo "seed-$i-2026" | md5sum | cut -c1-12)
  /bin/nslookup "$name.example.test" >/dev/null 2>&1
  i=$((i + 1))
done
echo "[corpus] dga done"
