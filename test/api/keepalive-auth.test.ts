// The api builds a certificate principal's RequestAuth once per connection (api/auth-context.ts,
// api/http-server.ts) and the server remembers the principal's internal name (server/auth.ts).
// None of that may outlive a change: every request on the SAME keep-alive connection is decided
// at the auth revision and tenant state current when it arrives (GUARANTEES A12: a cache is keyed
// by principal and auth revision; A8: after a revocation new requests are refused immediately):
// a revoked permission or role, a deleted user, auth enable/disable and a tenant suspension take
// effect on the very next request. The wiring is serve.ts's: a real
// KeywardServer, createApi with requestPrincipal, an HttpListener with mutual TLS.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { createApi, HttpListener, requestPrincipal } from '../../src/api/index.js';
import { ensureTokenKey, tokenKeyPath } from '../../src/cli/certs-commands.js';
import { KeywardServer } from '../../src/server/index.js';
import { TlsReloader } from '../../src/tls/index.js';
import { writeTestPki } from '../harness/certs.js';
import { tlsConnection } from '../harness/tls-client.js';
import { makeTmpDir } from '../harness/tmpdir.js';

const dir = makeTmpDir('keyward-keepalive-auth-');
const certsDir = dir.sub('certs');
const { store, init } = writeTestPki(certsDir, ['m1']);
ensureTokenKey(certsDir);
const reloader = new TlsReloader({ certFile: init.members[0]!.server.cert, keyFile: init.members[0]!.server.key, caFile: init.clientCa.cert, watch: false });
let server: KeywardServer;
let listener: HttpListener;
let port: number;

before(async () => {
  const maxRequestBytes = 1572864;
  server = await KeywardServer.open({
    name: 'm1',
    dataDir: dir.sub('data'),
    advertisePeerUrls: ['http://127.0.0.1:2380'],
    clusterToken: 'keepalive-auth',
    maxRequestBytes,
    maxTxnOps: 128,
    authTokenKeyFile: tokenKeyPath(certsDir),
    // The root certificate is the administrator and auth is on from the start, as `keyward serve`.
    authBootstrap: true,
  });
  await server.ready();
  const api = createApi(server, { maxRequestBytes, logger: { error() {} }, clientIdentity: requestPrincipal });
  listener = await HttpListener.listen(api, 'https://127.0.0.1:0', { tls: { reloader } });
  port = Number(new URL(listener.url).port);
});

after(async () => {
  await listener?.close();
  await reloader.close();
  await server?.close();
  dir.cleanup();
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/**
 * HTTP/1.1 requests one after another over ONE TLS connection, written by hand so that nothing
 * (an agent's pool) can open a second one; `connections` counts the handshakes.
 */
class KeepAliveClient {
  private socket: TLSSocket | undefined;
  connections = 0;
  constructor(private readonly files: { cert: string; key: string }) {}

  private open(): Promise<TLSSocket> {
    const s = this.socket;
    if (s !== undefined && !s.destroyed) return Promise.resolve(s);
    this.connections++;
    return new Promise((resolve, reject) => {
      const sock = connect({ ...tlsConnection({ ca: init.clientCa.cert, ...this.files }), host: '127.0.0.1', port, servername: 'localhost' }, () => resolve(sock));
      sock.once('error', reject);
      this.socket = sock;
    });
  }

  async post(path: string, body: unknown): Promise<Answer> {
    const sock = await this.open();
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const headers = buf.subarray(0, head).toString('latin1');
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? NaN);
        if (buf.length < head + 4 + len) return;
        sock.off('data', onData);
        sock.off('error', reject);
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(headers)?.[1]);
        resolve({ status, json: JSON.parse(buf.subarray(head + 4, head + 4 + len).toString('utf8')) as Record<string, unknown> });
      };
      sock.on('data', onData);
      sock.once('error', reject);
      sock.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(data)}\r\n\r\n${data}`);
    });
  }

  close(): void {
    this.socket?.destroy();
  }
}

const root = new KeepAliveClient(init.admin);

async function admin(path: string, body: unknown): Promise<void> {
  const r = await root.post(path, body);
  assert.equal(r.status, 200, `${path} ${JSON.stringify(body)} -> ${r.status} ${JSON.stringify(r.json)}`);
}

async function status(c: KeepAliveClient, key: string): Promise<number> {
  return (await c.post('/v3/kv/range', { key: b64(key) })).status;
}

test('A8, A12: permission, role, user and auth-state changes apply to the next request on the same keep-alive connection', async () => {
  const perm = { permType: 'READ', key: b64('a/'), range_end: b64('a0') };
  await admin('/v3/auth/user/add', { name: 'alice', options: { no_password: true } });
  await admin('/v3/auth/role/add', { name: 'reader' });
  await admin('/v3/auth/role/grant', { name: 'reader', perm });
  await admin('/v3/auth/user/grant', { user: 'alice', role: 'reader' });
  const alice = new KeepAliveClient(store.issueClient('alice'));
  try {
    assert.equal(await status(alice, 'a/x'), 200);
    assert.equal(await status(alice, 'b'), 403);

    await admin('/v3/auth/role/revoke', { role: 'reader', key: b64('a/'), range_end: b64('a0') });
    assert.equal(await status(alice, 'a/x'), 403, 'a revoked permission refuses the next request');
    await admin('/v3/auth/role/grant', { name: 'reader', perm });
    assert.equal(await status(alice, 'a/x'), 200, 'a granted permission allows the next request');

    await admin('/v3/auth/user/revoke', { name: 'alice', role: 'reader' });
    assert.equal(await status(alice, 'a/x'), 403, 'a revoked role refuses the next request');
    await admin('/v3/auth/user/grant', { user: 'alice', role: 'reader' });
    assert.equal(await status(alice, 'a/x'), 200);

    await admin('/v3/auth/disable', {});
    assert.equal(await status(alice, 'b'), 200, 'auth disabled: everything is allowed at once');
    await admin('/v3/auth/enable', {});
    assert.equal(await status(alice, 'b'), 403, 'auth enabled again: the next request is checked');
    assert.equal(await status(alice, 'a/x'), 200);

    await admin('/v3/auth/user/delete', { name: 'alice' });
    assert.equal(await status(alice, 'a/x'), 403, 'a deleted user is refused on its open connection');
    await admin('/v3/auth/user/add', { name: 'alice', options: { no_password: true } });
    assert.equal(await status(alice, 'a/x'), 403, 'a user made again under the name starts with no roles');
    assert.equal(alice.connections, 1, 'every request went over one connection');
  } finally {
    alice.close();
  }
});

test('A8, A12: a tenant suspension, resumption and deletion apply to the next request of its principal on the same connection', async () => {
  await admin('/v1/tenants/create', { id: 'acme' });
  await admin('/v3/auth/role/add', { name: 'rw', tenant: 'acme' });
  await admin('/v3/auth/role/grant', { name: 'rw', tenant: 'acme', perm: { permType: 'READWRITE', key: b64('\0'), range_end: b64('\0') } });
  await admin('/v3/auth/user/add', { name: 'bob', tenant: 'acme', options: { no_password: true } });
  await admin('/v3/auth/user/grant', { user: 'bob', role: 'rw', tenant: 'acme' });
  const bob = new KeepAliveClient(store.issueClient('bob', 'acme'));
  try {
    assert.equal((await bob.post('/v3/kv/put', { key: b64('k'), value: b64('v') })).status, 200);
    assert.equal(await status(bob, 'k'), 200);

    await admin('/v1/tenants/suspend', { id: 'acme' });
    const suspended = await bob.post('/v3/kv/range', { key: b64('k') });
    assert.equal(suspended.status, 403);
    assert.equal(suspended.json['message'], 'keyward: tenant is suspended');
    await admin('/v1/tenants/resume', { id: 'acme' });
    assert.equal(await status(bob, 'k'), 200);

    await admin('/v3/auth/role/revoke', { role: 'rw', tenant: 'acme', key: b64('\0'), range_end: b64('\0') });
    assert.equal(await status(bob, 'k'), 403, "a revoked tenant permission refuses the next request");

    await admin('/v1/tenants/delete', { id: 'acme' });
    const gone = await bob.post('/v3/kv/range', { key: b64('k') });
    assert.equal(gone.status, 403);
    assert.equal(gone.json['message'], 'etcdserver: permission denied');
    assert.equal(bob.connections, 1, 'every request went over one connection');
  } finally {
    bob.close();
    root.close();
  }
});
