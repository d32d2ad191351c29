#!/bin/bash
# Entrypoint of the r-useradd corpus image. As root: create the system group and user APP_USER
# unless they exist, copy the site into APP_HOME, give it to that user, then re-run this script
# as the user through setpriv (uid, gid and supplementary groups). As the user: start the
# readiness probe and exec the server.
set -euo pipefail

: "${APP_USER:=site}" "${APP_HOME:=/srv/site}"

probe() {
	local i
	for i in $(seq 1 100); do
		if curl -fsS -o /dev/null http://127.0.0.1:8081/ 2>/dev/null; then
			echo "ready: http.server answered GET / with 200"
			return 0
		fi
		sleep 0.2
	done
	echo "probe: http.server did not answer within 20 s" >&2
}

if [ "$(id -u)" = 0 ]; then
	if ! getent group "$APP_USER" >/dev/null; then
		groupadd --system "$APP_USER"
	fi
	if ! getent passwd "$APP_USER" >/dev/null; then
		useradd --system --gid "$APP_USER" --home-dir "$APP_HOME" --no-create-home \
			--shell /usr/sbin/nologin --comment "site service" "$APP_USER"
	fi
	mkdir -p "$APP_HOME"
	cp -a /opt/site/. "$APP_HOME/"
	chown -R "$APP_USER:$APP_USER" "$APP_HOME"
	echo "$0: running as $APP_USER ($(id -u "$APP_USER"):$(id -g "$APP_USER"))"
	exec setpriv --reuid="$APP_USER" --regid="$APP_USER" --init-groups "${BASH_SOURCE[0]}" "$@"
fi

{ probe || true; } &
cd "$APP_HOME"
exec "$@"
