import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { HttpListener } from '../../src/api/index.js';
import { holdOpen } from '../../src/api/http-server.js';

// The listener's long-lived streams (holdOpen) and close(): a stream that starts on a keep-alive
// connection after close() began is ended at once, and connections that become idle during the
// close are dropped then, so close() neither hangs nor waits for the keep-alive timeout.

test('close() ends a held stream that starts after it began, and does not wait for keep-alive', { timeout: 20_000 }, async () => {
  let slowSeen!: () => void;
  const slowArrived = new Promise<void>((r) => (slowSeen = r));
  const l = await HttpListener.listen(
    (req, res) => {
      if (req.url === '/slow') {
        slowSeen();
        setTimeout(() => res.end('slow done'), 300);
        return;
      }
      res.writeHead(200);
      res.write('held\n');
      const release = holdOpen(req, () => {
        release();
        res.end('ended\n');
      });
    },
    'http://127.0.0.1:0',
    { closeGraceMs: 60_000, keepAliveTimeoutMs: 30_000 },
  );
  const u = new URL(l.url);
  const s = connect(Number(u.port), u.hostname);
  let text = '';
  s.on('data', (d) => (text += String(d)));
  const ended = new Promise<void>((r) => s.once('end', () => r()));
  s.write('GET /slow HTTP/1.1\r\nHost: k\r\n\r\n');
  // Not a fixed sleep: on a loaded machine the request may take longer than that to arrive.
  await slowArrived;
  const t0 = Date.now();
  const closed = l.close();
  // The next request on the same keep-alive connection, parsed after close() began.
  s.write('GET /hold HTTP/1.1\r\nHost: k\r\n\r\n');
  await closed;
  assert.ok(Date.now() - t0 < 3000, `close took ${Date.now() - t0} ms`);
  await ended; // every byte the listener sent has been read
  assert.match(text, /slow done/);
  assert.match(text, /held\n\r\n6\r\nended\n/, 'the late stream was ended, not left open');
  s.destroy();
});

// The body deadline (requestTimeoutMs) tracks a request only while its body may still arrive.
// Tracking every request until the next sweep kept each one's whole object graph alive for up
// to a second, which under load promoted it all to the old generation (ARCHITECTURE change 23).
test('a request whose body is in is not tracked past its turn; a stalled body still gets 408', { timeout: 20_000 }, async () => {
  const l = await HttpListener.listen(
    (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    },
    'http://127.0.0.1:0',
    { requestTimeoutMs: 400 },
  );
  try {
    const u = new URL(l.url);
    const s = connect(Number(u.port), u.hostname);
    let text = '';
    s.on('data', (d) => (text += String(d)));
    const body = '{"key":"YQ=="}';
    const one = `POST /x HTTP/1.1\r\nHost: k\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    s.write(one.repeat(20));
    while ((text.match(/\r\n\r\nok/g) ?? []).length < 20) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setImmediate(r));
    // Well inside the sweep's period (100 ms here, up to 1 s by default): nothing is left tracked.
    assert.equal(l.bodiesAwaited, 0);
    // A body that stops half-way stays tracked and is answered 408 at its deadline.
    s.write(`POST /x HTTP/1.1\r\nHost: k\r\nContent-Length: 100\r\n\r\n{"key":`);
    while (l.bodiesAwaited === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(l.bodiesAwaited, 1);
    while (!/ 408 /.test(text)) await new Promise((r) => setTimeout(r, 20));
    assert.equal(l.bodiesAwaited, 0);
    s.destroy();
  } finally {
    await l.close();
  }
});
