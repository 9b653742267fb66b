// The client port of a real `keyward serve` process is TLS by default (issue 5, part B1):
// certificates generated on first run, the root certificate as the admin identity with auth
// bootstrapped, and the refusals of GUARANTEES A17 (wrong issuer, self-signed, expired, peer
// certificate, server-only certificate), A18b (revocation without a restart) and A19 (old
// protocols, plaintext, starting with an http:// URL). Every certificate is made at test time by
// src/tls; every connection is a real handshake.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { request as httpRequest } from 'node:http';
import {
  CertStore,
  createCa,
  generatePrivateKey,
  issueClientCertificate,
  issuePeerCertificate,
  issueServerCertificate,
  normalizeSerial,
  type CertifiedKey,
} from '../../src/tls/index.js';
import { buildCertificate } from '../../src/tls/x509.js';
import { startMemberProcess, type MemberProcess } from '../harness/process.js';
import { callTls, tlsConnection, tlsPost } from '../harness/tls-client.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { TEST_HOSTS } from '../harness/certs.js';

const dir = makeTmpDir('keyward-tls-client-');
after(() => dir.cleanup());

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const USER_EMPTY = { error: 'etcdserver: user name is empty', message: 'etcdserver: user name is empty', code: 3 };
const NO_IDENTITY = {
  error: 'keyward: no verified identity (client certificate or token)',
  message: 'keyward: no verified identity (client certificate or token)',
  code: 16,
};

/** Client options for an in-memory certificate (one the store never issued). */
function optionsFor(c: CertifiedKey, caFile: string): ConnectionOptions {
  return { ...tlsConnection({ ca: caFile }), cert: c.certPem, key: c.keyPem };
}

/** Log lines (pino JSON) with this msg, parsed. */
function logLines(m: MemberProcess, msg: string): Array<Record<string, unknown>> {
  return m.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['msg'] === msg);
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every file and directory under `root`, with its permission bits. */
function modes(root: string): Array<{ path: string; dir: boolean; mode: number }> {
  const out: Array<{ path: string; dir: boolean; mode: number }> = [];
  const walk = (p: string): void => {
    const st = statSync(p);
    out.push({ path: p, dir: st.isDirectory(), mode: st.mode & 0o777 });
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(root);
  return out;
}

// One secure member for most cases: its certs dir does not exist before it starts.
const certsDir = dir.sub('certs');
let member: MemberProcess;
const started = startMemberProcess(dir.sub('data'), [], {}, { secure: { certsDir } }).then((m) => (member = m));

test('first run: keyward serve creates the certs dir (dirs 0700, files 0600) and says where the admin certificate is', async () => {
  await started;
  const all = modes(certsDir);
  const names = all.map((e) => e.path.slice(certsDir.length));
  for (const want of ['/ca/client-ca.crt', '/ca/client-ca.key', '/ca/peer-ca.crt', '/ca/peer-ca.key', '/members/default/server.crt', '/members/default/server.key', '/members/default/peer.crt', '/members/default/peer.key', '/clients/root.crt', '/clients/root.key', '/auth/token.key', '/revoked.txt']) {
    assert.ok(names.includes(want), `${want} generated`);
  }
  for (const e of all) assert.equal(e.mode, e.dir ? 0o700 : 0o600, `${e.path} mode ${e.mode.toString(8)}`);
  await until('the first-run message on stderr', () => member.stderr().includes('try: curl'));
  const err = member.stderr();
  assert.match(err, new RegExp(`admin \\(user root\\) certificate: ${certsDir}/clients/root\\.crt\\n`));
  assert.match(err, new RegExp(`admin \\(user root\\) key: +${certsDir}/clients/root\\.key\\n`));
  assert.match(err, new RegExp(`client CA to trust: +${certsDir}/ca/client-ca\\.crt\\n`));
  assert.ok(err.includes(`curl --cacert ${certsDir}/ca/client-ca.crt --cert ${certsDir}/clients/root.crt --key ${certsDir}/clients/root.key -X POST https://127.0.0.1:0/v3/kv/put`), err);
  const generated = logLines(member, 'first run: generated the certificate authorities and certificates');
  assert.equal(generated.length, 1);
  assert.equal(generated[0]!['admin'], `${certsDir}/clients/root.crt`);
  assert.match(member.url, /^https:\/\/127\.0\.0\.1:\d+$/);
});

test('the root certificate is the admin: auth is on from the start (bootstrap) and root writes and reads over HTTPS', async () => {
  await started;
  const root = member.tls!;
  const status = await callTls(member.url, '/v3/auth/status', {}, root);
  assert.equal(status.status, 200, status.text);
  assert.equal(status.json['enabled'], true);
  const put = await callTls(member.url, '/v3/kv/put', { key: b64('tls/a'), value: b64('1') }, root);
  assert.equal(put.status, 200, put.text);
  const got = await callTls(member.url, '/v3/kv/range', { key: b64('tls/a') }, root);
  assert.equal(got.status, 200, got.text);
  assert.equal(got.json['kvs'][0]['value'], b64('1'));
  // Users are root only, certificate-bound: no password to guess.
  const users = await callTls(member.url, '/v3/auth/user/list', {}, root);
  assert.deepEqual(users.json['users'], ['root']);
  assert.ok(member.logs.some((l) => l.includes('"component":"audit"') && l.includes('auth.bootstrap')), 'the bootstrap is audited');
});

test('a user certificate from the client CA names that user: an unknown user is refused, not served as anonymous', async () => {
  await started;
  const alice = new CertStore(certsDir).issueClient('alice');
  const r = await callTls(member.url, '/v3/kv/put', { key: b64('tls/alice'), value: b64('x') }, { ca: member.tls!.ca, cert: alice.cert, key: alice.key });
  assert.equal(r.status, 403, r.text);
  assert.deepEqual(r.json, { error: 'etcdserver: permission denied', message: 'etcdserver: permission denied', code: 7 });
  const after = await callTls(member.url, '/v3/kv/range', { key: b64('tls/alice') }, member.tls!);
  assert.equal(after.json['kvs'], undefined, 'nothing was written');
});

test('A17: a client without a certificate, or with one the client CA did not issue for a client, is refused at the handshake', async () => {
  await started;
  const ca = member.tls!.ca;
  const store = new CertStore(certsDir);
  const clientCa = store.loadCa('client');
  const stranger = createCa('client');
  const selfKey = generatePrivateKey();
  const now = Date.now();
  const selfSigned = buildCertificate({ subject: [{ type: 'CN', value: 'root' }], key: selfKey, extKeyUsage: ['clientAuth'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) }, selfKey);
  const cases: Array<{ name: string; conn: ConnectionOptions; reason: string | undefined }> = [
    { name: 'no certificate', conn: tlsConnection({ ca }), reason: undefined },
    { name: 'root from another CA', conn: optionsFor(issueClientCertificate(stranger, 'root'), ca), reason: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    { name: 'self-signed root', conn: { ...tlsConnection({ ca }), cert: selfSigned.toString(), key: selfKey.export({ type: 'pkcs8', format: 'pem' }).toString() }, reason: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
    { name: 'expired root', conn: optionsFor(issueClientCertificate(clientCa, 'root', undefined, { now: () => now - 10 * 86_400_000, validityDays: 1 }), ca), reason: 'CERT_HAS_EXPIRED' },
    { name: 'a member peer certificate (peer CA)', conn: optionsFor(issuePeerCertificate(store.loadCa('peer'), 'default', TEST_HOSTS), ca), reason: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    { name: 'a server-only certificate from the client CA', conn: optionsFor(issueServerCertificate(clientCa, 'root', TEST_HOSTS), ca), reason: 'INVALID_PURPOSE' },
  ];
  const reasons: Record<string, unknown> = {};
  for (const c of cases) {
    const before = logLines(member, 'client TLS handshake failed').length;
    await assert.rejects(tlsPost(member.url, '/v3/kv/range', { key: b64('tls/a') }, c.conn), (e: Error & { code?: string }) => {
      // The server's alert (TLS 1.3 sends it after the client's Finished) or the cut connection.
      assert.match(`${e.code ?? ''} ${e.message}`, /ECONNRESET|socket hang up|alert|EPIPE/i, `${c.name}: ${e.message}`);
      return true;
    });
    await until(`${c.name}: the member logs the failed handshake`, () => logLines(member, 'client TLS handshake failed').length > before);
    reasons[c.name] = logLines(member, 'client TLS handshake failed')[before]!['reason'];
  }
  // OpenSSL's reason for each refusal, as the member logs it.
  assert.deepEqual(reasons, Object.fromEntries(cases.map((c) => [c.name, c.reason])));
});

test('A19: TLS 1.0 and 1.1 ClientHellos are refused; plaintext HTTP to the TLS port gets no answer', async () => {
  await started;
  const port = Number(new URL(member.url).port);
  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    const err = await new Promise<Error>((resolve, reject) => {
      // SECLEVEL=0 lets this client offer the old protocol at all; the server must refuse it.
      const s = connect({ host: '127.0.0.1', port, minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false });
      s.once('secureConnect', () => {
        s.destroy();
        reject(new Error(`${version} handshake succeeded`));
      });
      s.once('error', resolve);
    });
    assert.match(err.message, /protocol version|unsupported protocol/i, `${version}: ${err.message}`);
  }
  const plain = await new Promise<string>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v3/kv/range', method: 'POST' }, (res) => resolve(`answered ${res.statusCode}`));
    req.once('error', (e) => resolve(`error ${e.message}`));
    req.end('{}');
  });
  assert.match(plain, /^error (socket hang up|read ECONNRESET)/);
});

test('A18b: a serial added to revoked.txt is refused after SIGHUP, and its open connection is cut, without a restart', async () => {
  await started;
  const store = new CertStore(certsDir);
  const bob = store.issueClient('bob');
  const files = { ca: member.tls!.ca, cert: bob.cert, key: bob.key };
  // Before: bob completes handshakes (and is answered; he has no permissions).
  const first = await callTls(member.url, '/v3/kv/range', { key: b64('x') }, files);
  assert.equal(first.status, 403);
  const u = new URL(member.url);
  const open: TLSSocket = await new Promise((resolve, reject) => {
    const s = connect({ ...tlsConnection(files), host: u.hostname, port: Number(u.port) }, () => resolve(s));
    s.once('error', reject);
  });
  const closed = new Promise<void>((r) => open.once('close', () => r()));
  open.on('error', () => {});
  // A request answered on it: the member has accepted this connection (TLS 1.3 lets a client
  // think it is connected before the server has checked its certificate).
  const answered = new Promise<string>((r) => open.once('data', (d: Buffer) => r(d.toString())));
  open.write(`POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}`);
  assert.match(await answered, /^HTTP\/1\.1 400 /); // answered (the body names no key)
  store.revoke([bob.serial]);
  member.child.kill('SIGHUP');
  await until('the reload', () => logLines(member, 'TLS material reloaded').length > 0);
  await closed;
  await assert.rejects(callTls(member.url, '/v3/kv/range', { key: b64('x') }, files));
  await until('the refusal is logged', () => logLines(member, 'client certificate on the revocation list: connection refused or cut').some((l) => l['when'] === 'handshake'));
  const cut = logLines(member, 'client certificate on the revocation list: connection refused or cut');
  assert.ok(cut.some((l) => l['when'] === 'reload' && l['serial'] === bob.serial), JSON.stringify(cut));
  // Root is unaffected, and the member was not restarted.
  assert.equal((await callTls(member.url, '/v3/kv/range', { key: b64('x') }, member.tls!)).status, 200);
  assert.equal(member.child.exitCode, null);
});

test('SIGHUP: a rotated server certificate is what the next connection sees', async () => {
  await started;
  const u = new URL(member.url);
  const serialSeen = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = connect({ ...tlsConnection(member.tls!), host: u.hostname, port: Number(u.port) }, () => {
        const serial = s.getPeerX509Certificate()!.serialNumber;
        s.destroy();
        resolve(serial);
      });
      s.once('error', reject);
    });
  const before = await serialSeen();
  const rotated = new CertStore(certsDir).rotate('default');
  assert.equal(rotated.previousSerials.server, normalizeSerial(before));
  member.child.kill('SIGHUP');
  let now = before;
  const deadline = Date.now() + 10_000;
  while (now === before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    now = await serialSeen();
  }
  assert.notEqual(now, before);
  assert.equal(normalizeSerial(now), rotated.server.serial);
});

test('--client-cert-auth=false: no certificate and no token is etcd\'s "user name is empty"; a certificate that does not verify is refused, never anonymous', async () => {
  await started;
  const m = await startMemberProcess(dir.sub('data-optional'), ['--client-cert-auth=false'], {}, { secure: { certsDir: dir.sub('certs-optional') } });
  const ca = m.tls!.ca;
  const none = await tlsPost(m.url, '/v3/kv/range', { key: b64('a') }, tlsConnection({ ca }));
  assert.equal(none.status, 400, none.text);
  assert.deepEqual(none.json, USER_EMPTY);
  const stranger = issueClientCertificate(createCa('client'), 'root');
  const bad = await tlsPost(m.url, '/v3/kv/range', { key: b64('a') }, optionsFor(stranger, ca));
  assert.equal(bad.status, 401, bad.text);
  assert.deepEqual(bad.json, NO_IDENTITY);
  const root = await callTls(m.url, '/v3/kv/range', { key: b64('a') }, m.tls!);
  assert.equal(root.status, 200, root.text);
  m.child.kill('SIGTERM');
  assert.deepEqual(await m.exited, { code: 0, signal: null });
});

test('a certificate from the client CA that names no single user passes the handshake but is no identity: 401', async () => {
  await started;
  const clientCa = new CertStore(certsDir).loadCa('client');
  const key = generatePrivateKey();
  const now = Date.now();
  const twoNames = buildCertificate(
    { subject: [{ type: 'CN', value: 'root' }, { type: 'CN', value: 'alice' }], key, extKeyUsage: ['clientAuth'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) },
    clientCa.key,
    clientCa.cert,
  );
  const r = await tlsPost(member.url, '/v3/kv/put', { key: b64('tls/two'), value: b64('x') }, { ...tlsConnection({ ca: member.tls!.ca }), cert: twoNames.toString(), key: key.export({ type: 'pkcs8', format: 'pem' }).toString() });
  assert.equal(r.status, 401, r.text);
  assert.deepEqual(r.json, NO_IDENTITY);
  const got = await callTls(member.url, '/v3/kv/range', { key: b64('tls/two') }, member.tls!);
  assert.equal(got.json['kvs'], undefined, 'nothing was written');
});
