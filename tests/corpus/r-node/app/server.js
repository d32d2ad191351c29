'use strict';
// The r-node corpus service: a small JSON API on 127.0.0.1:3000 with node's http module.
const http = require('http');
const os = require('os');

const started = Date.now();
let hits = 0;

const server = http.createServer((req, res) => {
  hits += 1;
  const url = new URL(req.url, 'http://127.0.0.1');
  let status = 200;
  let body;
  if (url.pathname === '/healthz') {
    body = { status: 'ok' };
  } else if (url.pathname === '/') {
    body = { service: 'r-node', uptimeMs: Date.now() - started, hits, host: os.hostname() };
  } else {
    status = 404;
    body = { error: 'not found', path: url.pathname };
  }
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
  console.log(`${req.method} ${url.pathname} ${status}`);
});

server.listen(3000, '127.0.0.1', () => {
  console.log('r-node listening on 127.0.0.1:3000');
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
