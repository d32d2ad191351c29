'use strict';
// The r-webshell corpus service: a "network diagnostics" page with a command injection bug.
// /lookup?host=NAME runs `getent hosts NAME` through a shell with the parameter pasted in, so
// `host=x;id` runs id. It listens on 127.0.0.1 only.
const http = require('http');
const cp = require('child_process');

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  if (url.pathname === '/lookup') {
    const host = url.searchParams.get('host') || 'localhost';
    cp.exec('getent hosts ' + host, { timeout: 5000 }, (err, stdout, stderr) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(stdout + stderr);
    });
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});

server.listen(8088, '127.0.0.1', () => console.log('diag listening on 127.0.0.1:8088'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
