// HttpListener's TLS contract (in process, real sockets): https needs TLS material, and no
// plaintext listener is opened once TLS is configured; the verified certificate reaches the API
// as the request's principal. And the handshake-failure log line is rate limited.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpListener, ListenError, requestIdentity, requestPrincipal } from '../../src/api/index.js';
import { handshakeFailureLog } from '../../src/cli/serve-tls.js';
import { TlsReloader } from '../../src/tls/index.js';
import { writeTestPki } from '../harness/certs.js';
import { call } from '../harness/cluster.js';
import { callTls } from '../harness/tls-client.js';
import { makeTmpDir } from '../harness/tmpdir.js';

const dir = makeTmpDir('keyward-tls-listener-');
after(() => dir.cleanup());

const { store, init } = writeTestPki(dir.sub('certs'), ['m1']);
const reloader = new TlsReloader({ certFile: init.members[0]!.server.cert, keyFile: init.members[0]!.server.key, caFile: init.clientCa.cert, watch: false });
after(() => reloader.close());

test('https:// needs TLS material; http:// with TLS configured is refused; both say which URL', async () => {
  await assert.rejects(HttpListener.listen(() => {}, 'https://127.0.0.1:0'), (e: unknown) => e instanceof ListenError && e.code === 'TLS_REQUIRED' && e.message === 'cannot listen on https://127.0.0.1:0: https needs TLS material');
  await assert.rejects(
    HttpListener.listen(() => {}, 'http://127.0.0.1:0', { tls: { reloader } }),
    (e: unknown) => e instanceof ListenError && e.code === 'PLAINTEXT_REFUSED' && e.message === 'cannot listen on http://127.0.0.1:0: TLS is configured, so no plaintext listener is opened',
  );
});

test('the verified client certificate is the request principal (user, and tenant from O); plaintext has none', async () => {
  const seen: unknown[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push({ principal: requestPrincipal(req), kind: requestIdentity(req)?.kind });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  };
  const secure = await HttpListener.listen(handler, 'https://127.0.0.1:0', { tls: { reloader } });
  const plain = await HttpListener.listen(handler, 'http://127.0.0.1:0');
  try {
    assert.equal(secure.secure, true);
    assert.match(secure.url, /^https:\/\//);
    const ca = init.clientCa.cert;
    await callTls(secure.url, '/x', {}, { ca, cert: init.admin.cert, key: init.admin.key });
    const t = store.issueClient('carol', 'acme');
    await callTls(secure.url, '/x', {}, { ca, cert: t.cert, key: t.key });
    await call(plain.url, '/x', {});
    assert.deepEqual(seen, [
      { principal: { user: 'root' }, kind: 'client' },
      { principal: { user: 'carol', tenant: 'acme' }, kind: 'client' },
      { principal: undefined, kind: undefined },
    ]);
  } finally {
    await secure.close();
    await plain.close();
  }
});

test('handshake failures are logged at most `max` times per window, then once with the count', () => {
  const lines: Array<[Record<string, unknown>, string]> = [];
  const logger = { info() {}, error() {}, warn: (o: Record<string, unknown>, m: string) => void lines.push([o, m]) };
  let now = 1_000;
  const log = handshakeFailureLog(logger, { windowMs: 1000, max: 2, now: () => now });
  const f = { code: 'ECONNRESET', message: 'x', reason: 'CERT_HAS_EXPIRED', remoteAddress: '127.0.0.1' };
  for (let i = 0; i < 5; i++) log(f);
  assert.equal(lines.length, 2);
  now += 1000;
  log(f);
  assert.deepEqual(lines.slice(2).map(([o, m]) => [m, o['suppressed'] ?? o['reason']]), [
    ['client TLS handshake failures not logged (rate limit)', 3],
    ['client TLS handshake failed', 'CERT_HAS_EXPIRED'],
  ]);
});
