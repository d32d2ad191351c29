#!/bin/sh
# Entrypoint of the r-gunicorn corpus image: start the readiness probe, then exec the command
# (gunicorn, already running as the image's unprivileged user).
set -eu

probe() {
	i=0
	while [ "$i" -lt 100 ]; do
		if curl -fsS -o /dev/null http://127.0.0.1:8000/healthz 2>/dev/null; then
			echo "ready: gunicorn answered GET /healthz with 200"
			return 0
		fi
		i=$((i + 1))
		sleep 0.2
	done
	echo "probe: gunicorn did not answer within 20 s" >&2
}

if [ "${1:-}" = gunicorn ]; then
	{ probe || true; } &
fi
exec "$@"
