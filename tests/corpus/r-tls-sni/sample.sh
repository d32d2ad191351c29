#!/bin/sh
# Telegram bot polling and a paste fetch over HTTPS, by name only in the TLS ClientHello (T1102).
for host in api.telegram.org pastebin.com; do
  curl -sk -m 2 --resolve "$host:443:192.0.2.10" "https://$host/" -o /dev/null || true
done
echo "[corpus] tls done"
