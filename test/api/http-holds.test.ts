import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { HttpListener } from '../../src/api/index.js';
import { holdOpen } from '../../src/api/http-server.js';

// The listener's long-lived streams (holdOpen) and close(): a stream that starts on a keep-alive
// connection after close() began is ended at once, and connections that become idle during the
// close are dropped then, so close() neither hangs nor waits for the keep-alive timeout.

test('close() ends a held stream that starts after it began, and does not wait for keep-alive', { timeout: 20_000 }, async () => {
  const l = await HttpListener.listen(
    (req, res) => {
      if (req.url === '/slow') {
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
  s.write('GET /slow HTTP/1.1\r\nHost: k\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  const closed = l.close();
  // The next request on the same keep-alive connection, parsed after close() began.
  s.write('GET /hold HTTP/1.1\r\nHost: k\r\n\r\n');
  await closed;
  assert.ok(Date.now() - t0 < 3000, `close took ${Date.now() - t0} ms`);
  assert.match(text, /slow done/);
  assert.match(text, /held\n\r\n6\r\nended\n/, 'the late stream was ended, not left open');
  s.destroy();
});
