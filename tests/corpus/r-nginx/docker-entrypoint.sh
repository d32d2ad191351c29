#!/bin/sh
# Entrypoint of the r-nginx corpus image, in the manner of the official nginx image: when the
# command is nginx, run the executable *.sh files of /docker-entrypoint.d in name order, start the
# readiness probe, then exec the command.
set -eu

probe() {
	i=0
	while [ "$i" -lt 100 ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/ 2>/dev/null || true)
		if [ "$code" = 200 ]; then
			echo "ready: nginx answered GET / with 200"
			return 0
		fi
		i=$((i + 1))
		sleep 0.2
	done
	echo "probe: nginx did not answer within 20 s" >&2
}

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
	if find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f -print -quit 2>/dev/null | read -r _; then
		echo "$0: looking for shell scripts in /docker-entrypoint.d/"
		for f in $(find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f | sort); do
			case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					echo "$0: launching $f"
					"$f"
				else
					echo "$0: ignoring $f, not executable"
				fi
				;;
			*) echo "$0: ignoring $f" ;;
			esac
		done
		echo "$0: configuration complete; ready for start up"
	fi
	nginx -t -q
	{ probe || true; } &
fi
exec "$@"
