import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthClient, ClusterClient, KeywardError, KvClient, LeaseClient, WatchError, clientTlsFromFiles, type ClientTls } from '../../src/client/index.js';
import { CLIENT_ECDH_CURVES, CLIENT_TLS_CIPHERS } from '../../src/client/tls.js';
import { bytesToString } from '../../src/wire/index.js';
import { ECDH_CURVES, TLS_CIPHERS } from '../../src/tls/index.js';
import { testPki } from '../harness/certs.js';
import { startSecureMember, type SecureMember } from './secure-member.js';

// The client SDK against a secure member (mutual TLS, auth enabled by the bootstrap, user root
// bound to its certificate): certificates, tokens, refresh, watch and lease keep-alive over TLS.

let m: SecureMember;
const audit: object[] = [];

function files(user: string, tenant?: string): ClientTls {
  const l = m.store.layout;
  const c = l.client(user, tenant);
  return clientTlsFromFiles({ caFile: l.clientCa.cert, certFile: c.cert, keyFile: c.key });
}
const rootTls = (): ClientTls => files('root');
const logins = (user: string): number => audit.filter((a) => (a as { action?: string; user?: string; outcome?: string }).action === 'authenticate' && (a as { user?: string }).user === user && (a as { outcome?: string }).outcome === 'ok').length;

before(async () => {
  m = await startSecureMember({ audit });
  // Users the tests log in as, each with a role on its own prefix; bob only has a certificate.
  const admin = new AuthClient({ endpoints: [m.url], tls: rootTls() });
  for (const u of ['alice', 'carol', 'dave']) {
    await admin.userAdd(u, `${u}-password`);
    await admin.roleAdd(`${u}-role`);
    await admin.roleGrantPermission(`${u}-role`, { permType: 'READWRITE', key: `${u}/`, rangeEnd: `${u}0` });
    await admin.userGrantRole(u, `${u}-role`);
    await admin.roleAdd(`${u}-extra`);
  }
  m.store.issueClient('bob');
});

after(async () => {
  await m.dispose();
});

test('KvClient over mutual TLS with the root certificate: put and get as root (auth is on)', async () => {
  const kv = new KvClient({ endpoints: [m.url], tls: rootTls() });
  const put = await kv.put({ key: Buffer.from('tls/k'), value: Buffer.from('v1') });
  const got = await kv.range({ key: Buffer.from('tls/k') });
  assert.equal(got.kvs.length, 1);
  assert.equal(bytesToString(got.kvs[0]!.value), 'v1');
  assert.equal(got.kvs[0]!.modRevision, put.header.revision);
  const members = await new ClusterClient({ endpoints: [m.url], tls: rootTls() }).memberList();
  assert.equal(members.members.length, 1);
  await kv.close();
});

test('a server certificate from a CA the client does not trust: UNAVAILABLE with the TLS reason, no hang', async () => {
  const kv = new KvClient({ endpoints: [m.url], timeoutMs: 20_000, tls: { ...rootTls(), ca: testPki().strangerCa.certPem } });
  const t0 = Date.now();
  const err = await kv.range({ key: Buffer.from('tls/k') }).catch((e: unknown) => e);
  assert.ok(err instanceof KeywardError, String(err));
  assert.equal(err.code, 'UNAVAILABLE');
  assert.equal(err.grpcCode, 14);
  assert.match(err.message, /TLS: the server certificate was not accepted: .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED)/);
  assert.match(err.message, new RegExp(m.url.replace(/[.:/]/g, '\\$&')));
  // Refused at the handshake, not after the 20 s request timeout.
  assert.ok(Date.now() - t0 < 10_000);
  // The same for a write and for a watch.
  const w = await kv.put({ key: Buffer.from('tls/k'), value: Buffer.from('x') }).catch((e: unknown) => e);
  assert.ok(w instanceof KeywardError && w.code === 'UNAVAILABLE' && /TLS/.test(w.message));
  await kv.close();
});

test('the wrong host name: UNAVAILABLE naming the mismatch', async () => {
  const kv = new KvClient({ endpoints: [m.url], tls: { ...rootTls(), servername: 'not-the-member.example' } });
  const err = await kv.range({ key: Buffer.from('x') }).catch((e: unknown) => e);
  assert.ok(err instanceof KeywardError && err.code === 'UNAVAILABLE', String(err));
  assert.match(err.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
});

test('no client certificate: the member refuses the handshake and the client says so', async () => {
  const kv = new KvClient({ endpoints: [m.url], tls: { ca: readFileSync(m.store.layout.clientCa.cert) } });
  const err = await kv.range({ key: Buffer.from('x') }).catch((e: unknown) => e);
  assert.ok(err instanceof KeywardError && err.code === 'UNAVAILABLE', String(err));
  assert.match(err.message, /TLS: .*certificate/i);
});

test('A18 token auth: a token from AuthClient.authenticate names the user even on a connection with root\'s certificate', async () => {
  const token = await new AuthClient({ endpoints: [m.url], tls: rootTls() }).authenticate('alice', 'alice-password');
  const kv = new KvClient({ endpoints: [m.url], tls: rootTls(), token });
  await kv.put({ key: Buffer.from('alice/1'), value: Buffer.from('a') });
  const denied = await kv.put({ key: Buffer.from('tls/alice'), value: Buffer.from('a') }).catch((e: unknown) => e);
  assert.ok(denied instanceof KeywardError && denied.code === 'PERMISSION_DENIED' && denied.httpStatus === 403, String(denied));
  // Nothing was written by the refused put.
  const root = new KvClient({ endpoints: [m.url], tls: rootTls() });
  assert.equal((await root.range({ key: Buffer.from('tls/alice') })).kvs.length, 0);
  // A token function is asked before each request.
  let asked = 0;
  const kv2 = new KvClient({ endpoints: [m.url], tls: files('bob'), token: async () => (asked++, token) });
  await kv2.range({ key: Buffer.from('alice/1') });
  await kv2.range({ key: Buffer.from('alice/1') });
  assert.equal(asked, 2);
  // A token that does not verify is refused, not replaced by the certificate's identity.
  const bad = new KvClient({ endpoints: [m.url], tls: rootTls(), token: token.slice(0, -4) + 'AAAA' });
  const e = await bad.range({ key: Buffer.from('alice/1') }).catch((x: unknown) => x);
  assert.ok(e instanceof KeywardError && e.code === 'INVALID_AUTH_TOKEN' && e.httpStatus === 401, String(e));
  await Promise.all([kv.close(), kv2.close(), root.close(), bad.close()]);
});

test('token refresh: a token made stale by a role change is replaced by one login, and the write applies once', async () => {
  const kv = new KvClient({ endpoints: [m.url], tls: files('bob'), auth: { user: 'carol', password: 'carol-password' } });
  await kv.put({ key: Buffer.from('carol/1'), value: Buffer.from('1') });
  assert.equal(logins('carol'), 1);
  const admin = new AuthClient({ endpoints: [m.url], tls: rootTls() });
  // A role change moves carol's credential revision: tokens issued before it are dead.
  await admin.userGrantRole('carol', 'carol-extra');
  const put = await kv.put({ key: Buffer.from('carol/2'), value: Buffer.from('2'), prevKv: true });
  assert.equal(logins('carol'), 2);
  const got = await kv.range({ key: Buffer.from('carol/2') });
  assert.equal(got.kvs[0]!.version, 1, 'the refused attempt had no effect; the retry applied once');
  assert.equal(got.kvs[0]!.modRevision, put.header.revision);
  // Concurrent requests meeting the same stale token share one login.
  await admin.userRevokeRole('carol', 'carol-extra');
  await Promise.all([1, 2, 3].map((i) => kv.range({ key: Buffer.from(`carol/${i}`) })));
  assert.equal(logins('carol'), 3);
  await kv.close();
});

test('token refresh after a password change: the old password no longer logs in, and the error says so', async () => {
  const kv = new KvClient({ endpoints: [m.url], tls: files('bob'), auth: { user: 'dave', password: 'dave-password' } });
  await kv.put({ key: Buffer.from('dave/1'), value: Buffer.from('1') });
  await new AuthClient({ endpoints: [m.url], tls: rootTls() }).userChangePassword('dave', 'dave-new-password');
  const err = await kv.put({ key: Buffer.from('dave/2'), value: Buffer.from('2') }).catch((e: unknown) => e);
  assert.ok(err instanceof KeywardError && err.code === 'AUTH_FAILED', String(err));
  const root = new KvClient({ endpoints: [m.url], tls: rootTls() });
  assert.equal((await root.range({ key: Buffer.from('dave/2') })).kvs.length, 0);
  // With the new password the same kind of client works again.
  const kv2 = new KvClient({ endpoints: [m.url], tls: files('bob'), auth: { user: 'dave', password: 'dave-new-password' } });
  await kv2.put({ key: Buffer.from('dave/2'), value: Buffer.from('2') });
  await Promise.all([kv.close(), kv2.close(), root.close()]);
});

test('watch over TLS with a login: events arrive; a stream refused for a stale token logs in again once and is created', async () => {
  const kv = new KvClient({ endpoints: [m.url], tls: files('bob'), auth: { user: 'alice', password: 'alice-password' }, watch: { timeoutMs: 5000 } });
  await kv.put({ key: Buffer.from('alice/w0'), value: Buffer.from('0') });
  const before = logins('alice');
  const admin = new AuthClient({ endpoints: [m.url], tls: rootTls() });
  await admin.userGrantRole('alice', 'alice-extra');
  const w = kv.watch('alice/w', { prefix: true });
  await w.ready;
  assert.equal(logins('alice'), before + 1);
  const root = new KvClient({ endpoints: [m.url], tls: rootTls() });
  const put = await root.put({ key: Buffer.from('alice/w1'), value: Buffer.from('1') });
  const { value } = await w.next();
  assert.ok(value !== undefined && value.kind === 'events');
  assert.equal(value.revision, put.header.revision);
  assert.equal(bytesToString(value.events[0]!.kv!.key), 'alice/w1');
  assert.equal(w.stats.connects, 2, 'one refused attempt, one created stream');
  // Outside alice's permissions: the member cancels it with etcd's reason (the token was used).
  const denied = kv.watch('tls/', { prefix: true });
  const e = await denied.ready.catch((x: unknown) => x);
  assert.ok(e instanceof WatchError && e.code === 'CANCELED' && e.message === 'etcdserver: permission denied', String(e));
  await Promise.all([w.close(), kv.close(), root.close()]);
});

test('lease grant, keep-alive and time-to-live over TLS', async () => {
  const leases = new LeaseClient({ endpoints: [m.url], tls: rootTls() });
  const g = await leases.grant(30);
  const renewed: number[] = [];
  const ka = leases.keepAlive(g.id, { onRenew: (r) => renewed.push(r.ttl) });
  while (renewed.length === 0) await new Promise((r) => setTimeout(r, 20));
  assert.equal(renewed[0], 30);
  ka.stop();
  assert.deepEqual(await ka.done, { reason: 'stopped' });
  const ttl = await leases.timeToLive(g.id);
  assert.equal(ttl.grantedTtl, 30);
  assert.ok(ttl.ttl > 0 && ttl.ttl <= 30);
  await leases.revoke(g.id);
  const gone = await leases.keepAliveOnce(g.id).catch((e: unknown) => e);
  assert.ok(gone instanceof KeywardError && gone.code === 'LEASE_NOT_FOUND');
});

test('the client\'s TLS hardening is src/tls\'s: same cipher suites and curves (the SDK does not import tls)', () => {
  assert.equal(CLIENT_TLS_CIPHERS, TLS_CIPHERS);
  assert.equal(CLIENT_ECDH_CURVES, ECDH_CURVES);
});

test('client options: bad combinations are TypeErrors; a key file others can read is refused', () => {
  assert.throws(() => new KvClient({ endpoints: ['https://127.0.0.1:1'], token: 't', auth: { user: 'u', password: 'p' } }), /either token or auth/);
  assert.throws(() => new KvClient({ endpoints: ['https://127.0.0.1:1'], tls: { cert: 'x' } }), /both cert and key/);
  assert.throws(() => new KvClient({ endpoints: ['ftp://127.0.0.1:1'] }), /http:\/\/ or https:\/\//);
  const dir = mkdtempSync(join(tmpdir(), 'keyward-key-'));
  try {
    const key = join(dir, 'k.key');
    writeFileSync(key, 'not really a key', { mode: 0o644 });
    chmodSync(key, 0o644);
    assert.throws(() => clientTlsFromFiles({ keyFile: key }), /mode 644; a private key must be 0600/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('auth credentials against a cluster with auth disabled: the client goes on without a token (etcd clientv3)', async () => {
  const open = await startSecureMember({ authBootstrap: false });
  try {
    const l = open.store.layout;
    const tls = clientTlsFromFiles({ caFile: l.clientCa.cert, certFile: l.client('root').cert, keyFile: l.client('root').key });
    const kv = new KvClient({ endpoints: [open.url], tls, auth: { user: 'nobody', password: 'whatever1' } });
    await kv.put({ key: Buffer.from('k'), value: Buffer.from('v') });
    assert.equal((await kv.range({ key: Buffer.from('k') })).kvs.length, 1);
    const w = kv.watch('k');
    await w.ready;
    await Promise.all([w.close(), kv.close()]);
  } finally {
    await open.dispose();
  }
});
