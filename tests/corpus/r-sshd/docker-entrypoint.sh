#!/bin/bash
# Entrypoint of the r-sshd corpus image: create the host keys that are missing (the image carries
# none), the privilege-separation directory, start the readiness probe, then exec sshd.
set -euo pipefail

# Connects to 127.0.0.1:22 with bash's /dev/tcp and reads the server's identification line.
probe() {
	local i banner
	for i in $(seq 1 100); do
		if exec 3<>/dev/tcp/127.0.0.1/22; then
			banner=""
			IFS= read -r -t 5 banner <&3 || true
			printf 'SSH-2.0-corpus-probe\r\n' >&3 2>/dev/null || true
			exec 3>&-
			if [[ "$banner" == SSH-2.0-* ]]; then
				echo "ready: sshd sent its SSH-2.0 banner on 127.0.0.1:22"
				return 0
			fi
		fi 2>/dev/null
		sleep 0.2
	done
	echo "probe: sshd did not answer within 20 s" >&2
}

if [ "${1:-}" = /usr/sbin/sshd ]; then
	ssh-keygen -A
	mkdir -p /run/sshd
	chmod 0755 /run/sshd
	{ probe || true; } &
fi
exec "$@"
