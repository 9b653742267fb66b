// A trivial node:http server that reads each request body and answers a constant,
// etcd-shaped JSON document. kv-bench runs the load generator against it to measure the
// generator's own ceiling: whatever it reaches here is an upper bound for any real target.
// Usage: node dist/bench/constant-server.js --port <port> [--host 127.0.0.1]

import * as http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error('constant-server: --port <port> is required');
  process.exit(2);
}

const HEADER = '"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"12345","raft_term":"2"}';
// A range answer carrying one 256-byte value, so the generator parses a realistic size.
const VALUE = Buffer.alloc(256, 0x61).toString('base64');
const RANGE = Buffer.from(
  `{${HEADER},"kvs":[{"key":"YmVuY2gva2V5LTE=","create_revision":"2","mod_revision":"12345","version":"7","value":"${VALUE}"}],"count":"1"}`,
);
const PUT = Buffer.from(`{${HEADER}}`);
const HEALTH = Buffer.from('{"health":"true"}');

const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    const body = req.url === '/health' ? HEALTH : req.url === '/v3/kv/range' ? RANGE : PUT;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, values.host, () => {
  console.log(`constant-server listening on http://${values.host}:${port}`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
