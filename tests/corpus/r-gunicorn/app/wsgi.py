"""The r-gunicorn corpus application: a tiny JSON API in plain WSGI (no framework)."""

import json
import os
import time

STARTED = time.time()
ITEMS = [{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"}]


def _json(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        return _json(start_response, "200 OK", {"status": "ok", "pid": os.getpid()})
    if path == "/items":
        return _json(start_response, "200 OK", ITEMS)
    if path == "/":
        return _json(start_response, "200 OK", {"service": "r-gunicorn", "uptime_s": round(time.time() - STARTED, 1)})
    return _json(start_response, "404 Not Found", {"error": "not found", "path": path})
