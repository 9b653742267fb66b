// Mutual TLS on loopback with real handshakes (GUARANTEES A17, A18, A18b, A19, D9): who gets in,
// who is refused, and what identity a verified certificate yields.

import { test, after } from 'node:test';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, createSecureContext, type TLSSocket } from 'node:tls';
import {
  RevocationList,
  clientTlsOptions,
  createCrl,
  guardServer,
  identityFromSocket,
  issueClientCertificate,
  serverTlsOptions,
  type Identity,
  type IdentityPolicy,
} from '../../src/tls/index.js';
import { buildCertificate, type CertificateSpec, type SubjectAttribute } from '../../src/tls/x509.js';
import { generatePrivateKey, privateKeyPem } from '../../src/tls/keys.js';
import { testPki, TEST_HOSTS } from '../harness/certs.js';
import { attempt, failures, identityOf, listen, start, type TestServer } from './helpers.js';

const pki = testPki();
const HOUR = 3_600_000;

const clientPolicy: IdentityPolicy = { expect: 'client', issuers: [pki.clientCa.cert] };
const peerPolicy: IdentityPolicy = { expect: 'peer', issuers: [pki.peerCa.cert] };

/** A certificate from `issuer` (default the client CA) with whatever odd properties a case needs. */
function oddCert(o: Partial<CertificateSpec> & { subject?: readonly SubjectAttribute[]; issuer?: typeof pki.clientCa | 'self' } = {}): { cert: string; key: string } {
  const key = generatePrivateKey();
  const now = Date.now();
  const spec: CertificateSpec = {
    subject: o.subject ?? [{ type: 'CN', value: 'alice' }],
    key,
    notBefore: o.notBefore ?? new Date(now - HOUR),
    notAfter: o.notAfter ?? new Date(now + HOUR),
    extKeyUsage: o.extKeyUsage ?? ['clientAuth'],
    ...(o.hosts === undefined ? {} : { hosts: o.hosts }),
  };
  const issuer = o.issuer ?? pki.clientCa;
  const cert = issuer === 'self' ? buildCertificate(spec, key) : buildCertificate(spec, issuer.key, issuer.cert);
  return { cert: cert.toString(), key: privateKeyPem(key) };
}

/** Client options presenting `c` and trusting the client CA (so the server is verified). */
const as = (c: { cert: string; key: string }) => clientTlsOptions({ cert: c.cert, key: c.key, ca: pki.clientCa.certPem, servername: 'localhost' });

const userOf = (i: Identity): string | undefined => (i.kind === 'client' ? i.user : undefined);

const servers: TestServer[] = [];
async function server(opts = pki.clientPortServerOptions(), policy: IdentityPolicy | undefined = clientPolicy): Promise<TestServer> {
  const s = await listen(opts, policy);
  servers.push(s);
  return s;
}
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

test('a valid client certificate connects and names its user (and tenant from O)', async () => {
  const s = await server();
  const a = await attempt(s.port, pki.clientOptions('alice'));
  assert.deepEqual(identityOf(a), { kind: 'client', user: 'alice', serial: pki.client('alice').serial });
  assert.equal(a.protocol, 'TLSv1.3');
  const t = await attempt(s.port, pki.clientOptions('bob', 'acme'));
  assert.deepEqual(identityOf(t), { kind: 'client', user: 'bob', tenant: 'acme', serial: pki.client('bob', 'acme').serial });
});

test('A17: no client certificate is refused at the handshake', async () => {
  const s = await server();
  const a = await attempt(s.port, { ca: pki.clientCa.certPem });
  assert.equal(a.reply, undefined);
  assert.deepEqual(await failures(s), ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE']);
});

test('A17: a certificate from another CA is refused at the handshake', async () => {
  const s = await server();
  const a = await attempt(s.port, as(oddCert({ issuer: pki.strangerCa })));
  assert.equal(a.reply, undefined);
  assert.deepEqual(await failures(s), ['UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
});

test('A17: a self-signed certificate is refused at the handshake', async () => {
  const s = await server();
  const a = await attempt(s.port, as(oddCert({ issuer: 'self' })));
  assert.equal(a.reply, undefined);
  assert.deepEqual(await failures(s), ['DEPTH_ZERO_SELF_SIGNED_CERT']);
});

test('A17: an expired certificate is refused at the handshake', async () => {
  const s = await server();
  const now = Date.now();
  const a = await attempt(s.port, as(oddCert({ notBefore: new Date(now - 48 * HOUR), notAfter: new Date(now - 24 * HOUR) })));
  assert.equal(a.reply, undefined);
  assert.deepEqual(await failures(s), ['CERT_HAS_EXPIRED']);
});

test('A17: a not-yet-valid certificate is refused at the handshake', async () => {
  const s = await server();
  const now = Date.now();
  const a = await attempt(s.port, as(oddCert({ notBefore: new Date(now + 24 * HOUR), notAfter: new Date(now + 48 * HOUR) })));
  assert.equal(a.reply, undefined);
  assert.deepEqual(await failures(s), ['CERT_NOT_YET_VALID']);
});

test('A17: a peer certificate used as a client is refused at the handshake, and is never a client identity', async () => {
  const s = await server();
  const peer = pki.peer('m1');
  assert.equal((await attempt(s.port, as({ cert: peer.certPem, key: peer.keyPem }))).reply, undefined);
  assert.deepEqual(await failures(s), ['UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
  // A listener misconfigured to trust both CAs lets the handshake through; the identity check
  // still refuses, because a client identity comes only from the client CA.
  const both = await server(serverTlsOptions({ cert: pki.server.certPem, key: pki.server.keyPem, ca: [pki.clientCa.certPem, pki.peerCa.certPem] }));
  const a = await attempt(both.port, as({ cert: peer.certPem, key: peer.keyPem }));
  assert.deepEqual(a.reply, { ok: false, code: 'WrongIssuer' });
});

test('A17: a server-only (serverAuth EKU) certificate used as a client is refused at the handshake', async () => {
  const s = await server();
  const a = await attempt(s.port, as(oddCert({ extKeyUsage: ['serverAuth'] })));
  assert.equal(a.reply, undefined);
  // The member's own client-port server certificate is such a certificate.
  assert.equal((await attempt(s.port, as({ cert: pki.server.certPem, key: pki.server.keyPem }))).reply, undefined);
  assert.deepEqual(await failures(s, 2), ['INVALID_PURPOSE', 'INVALID_PURPOSE']);
});

test('A17: a certificate without any EKU passes OpenSSL but is not an identity', async () => {
  const s = await server();
  const a = await attempt(s.port, as(oddCert({ extKeyUsage: [] })));
  assert.deepEqual(a.reply, { ok: false, code: 'WrongUsage' });
});

test('A17: a client certificate cannot join as a peer', async () => {
  const peerListener = await server(pki.peerServerOptions('m1'), peerPolicy);
  const alice = pki.client('alice');
  const viaClientCert = clientTlsOptions({ cert: alice.certPem, key: alice.keyPem, ca: pki.peerCa.certPem, servername: 'localhost' });
  assert.equal((await attempt(peerListener.port, viaClientCert)).reply, undefined);
  assert.deepEqual(await failures(peerListener), ['UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
  // Even on a peer listener that trusts the client CA as well, it is not a member.
  const p = pki.peer('m1');
  const lax = await server(serverTlsOptions({ cert: p.certPem, key: p.keyPem, ca: [pki.peerCa.certPem, pki.clientCa.certPem] }), peerPolicy);
  assert.deepEqual((await attempt(lax.port, viaClientCert)).reply, { ok: false, code: 'WrongIssuer' });
});

test('peers: a peer certificate names its member; the allowed-name list and the expected name are enforced', async () => {
  const s = await server(pki.peerServerOptions('m1'), peerPolicy);
  assert.deepEqual(identityOf(await attempt(s.port, pki.peerClientOptions('m2'))), { kind: 'peer', memberName: 'm2', serial: pki.peer('m2').serial });
  const allowOnlyM3 = await server(pki.peerServerOptions('m1'), { ...peerPolicy, allowedNames: ['m3'] });
  assert.deepEqual((await attempt(allowOnlyM3.port, pki.peerClientOptions('m2'))).reply, { ok: false, code: 'NotAllowed' });
  // The dialling side checks it reached the member it meant to.
  assert.equal(identityOf(await attempt(s.port, pki.peerClientOptions('m2', 'm1'))).kind, 'peer');
  const wrong = await attempt(s.port, pki.peerClientOptions('m2', 'm9'));
  assert.equal(wrong.reply, undefined);
  assert.equal(wrong.error, 'NotAllowed');
});

test('A18: a CN with NUL, two CN attributes, a bidi override or two tenants is not an identity', async () => {
  const s = await server();
  const cases: [string, SubjectAttribute[]][] = [
    ['NUL', [{ type: 'CN', value: 'root\u0000alice' }]],
    ['two CNs', [{ type: 'CN', value: 'alice' }, { type: 'CN', value: 'root' }]],
    ['bidi override', [{ type: 'CN', value: 'ali\u202ece' }]],
    ['zero-width', [{ type: 'CN', value: 'ro\u200bot' }]],
    ['not NFC', [{ type: 'CN', value: 'jose\u0301' }]],
    ['trailing space', [{ type: 'CN', value: 'root ' }]],
    ['no CN', [{ type: 'O', value: 'acme' }]],
    ['two tenants', [{ type: 'CN', value: 'alice' }, { type: 'O', value: 'a' }, { type: 'O', value: 'b' }]],
    ['malformed tenant', [{ type: 'CN', value: 'alice' }, { type: 'O', value: '../b' }]],
  ];
  for (const [what, subject] of cases) {
    const a = await attempt(s.port, as(oddCert({ subject })));
    assert.deepEqual(a.reply, { ok: false, code: 'BadSubject' }, what);
  }
  // A well-formed non-ASCII name is fine.
  assert.equal(userOf(identityOf(await attempt(s.port, as(oddCert({ subject: [{ type: 'CN', value: 'josé' }] }))))), 'josé');
});

test('A18: a CN equal to a real user, from a CA this listener does not take identities from, is refused', async () => {
  // The stranger CA is trusted for the handshake here (as if configured for another purpose), but
  // identities come only from the client CA.
  const s = await server(serverTlsOptions({ cert: pki.server.certPem, key: pki.server.keyPem, ca: [pki.clientCa.certPem, pki.strangerCa.certPem] }));
  const a = await attempt(s.port, as(oddCert({ issuer: pki.strangerCa, subject: [{ type: 'CN', value: 'root' }] })));
  assert.deepEqual(a.reply, { ok: false, code: 'WrongIssuer' });
});

test('A18b: a revoked serial is cut as it connects and on every later identity check; adding one cuts open connections', async () => {
  const revocation = new RevocationList([pki.client('mallory').serial]);
  const s = await server(pki.clientPortServerOptions(), { ...clientPolicy, revocation });
  const refused: string[] = [];
  const guard = guardServer(s.server, revocation, (e) => refused.push(`${e.when}:${e.serial}`));
  try {
    assert.equal((await attempt(s.port, pki.clientOptions('mallory'))).reply, undefined);
    assert.deepEqual(refused, [`handshake:${pki.client('mallory').serial}`]);
    assert.equal(identityOf(await attempt(s.port, pki.clientOptions('alice'))).kind, 'client');

    // An open connection of a certificate revoked later is cut when the list changes.
    const holder = await start(createHttpsServer(pki.clientPortServerOptions(), (_req, res) => res.end('ok')));
    servers.push(holder);
    const g2 = guardServer(holder.server, revocation, (e) => refused.push(`${e.when}:${e.serial}`));
    // In TLS 1.3 the client finishes first; wait for the server's side of the handshake.
    const accepted = once(holder.server, 'secureConnection');
    const sock = tlsConnect({ ...pki.clientOptions('carol'), host: '127.0.0.1', port: holder.port });
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => {});
    await accepted;
    revocation.replace([...revocation.serials(), pki.client('carol').serial]);
    await closed;
    assert.ok(refused.includes(`reload:${pki.client('carol').serial}`));
    g2.close();
  } finally {
    guard.close();
  }
});

test('A18b: identityFromSocket refuses a revoked serial even without the connection guard', async () => {
  const revocation = new RevocationList([pki.client('mallory').serial]);
  const s = await server(pki.clientPortServerOptions(), { ...clientPolicy, revocation });
  assert.deepEqual((await attempt(s.port, pki.clientOptions('mallory'))).reply, { ok: false, code: 'Revoked' });
});

test('A18b: a certificate on the CA\'s CRL is refused by OpenSSL at the handshake', async () => {
  const victim = issueClientCertificate(pki.clientCa, 'eve');
  const crl = createCrl(pki.clientCa, [victim.serial]);
  const s = await server(pki.clientPortServerOptions({ crl }));
  assert.equal((await attempt(s.port, as({ cert: victim.certPem, key: victim.keyPem }))).reply, undefined);
  assert.deepEqual(await failures(s), ['CERT_REVOKED']);
  assert.equal(userOf(identityOf(await attempt(s.port, pki.clientOptions('alice')))), 'alice');
});

test('A19: TLS 1.0 and 1.1 ClientHellos are refused; TLS 1.2 works', async () => {
  const s = await server();
  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    // SECLEVEL=0 so our own client is willing to offer the old protocol at all.
    const a = await attempt(s.port, { ...pki.clientOptions('alice'), minVersion: v, maxVersion: v, ciphers: 'DEFAULT@SECLEVEL=0' });
    assert.equal(a.reply, undefined, v);
    assert.equal(a.error, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', v);
  }
  assert.deepEqual(await failures(s, 2), ['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_UNSUPPORTED_PROTOCOL']);
  const a = await attempt(s.port, { ...pki.clientOptions('alice'), maxVersion: 'TLSv1.2' });
  assert.equal(a.protocol, 'TLSv1.2');
  assert.equal(identityOf(a).kind, 'client');
});

test('A19: weak and non-AEAD TLS 1.2 cipher suites are refused', async () => {
  const s = await server();
  for (const ciphers of ['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA', 'AES128-GCM-SHA256']) {
    const a = await attempt(s.port, { ...pki.clientOptions('alice'), maxVersion: 'TLSv1.2', ciphers });
    assert.equal(a.reply, undefined, ciphers);
  }
  assert.deepEqual(await failures(s, 3), ['ERR_SSL_NO_SHARED_CIPHER', 'ERR_SSL_NO_SHARED_CIPHER', 'ERR_SSL_NO_SHARED_CIPHER']);
});

test('A19: renegotiation is refused', async () => {
  const s = await server(pki.clientPortServerOptions(), undefined);
  const sock = tlsConnect({ ...pki.clientOptions('alice'), host: '127.0.0.1', port: s.port, maxVersion: 'TLSv1.2' });
  sock.on('data', () => {});
  await new Promise<void>((r) => sock.once('secureConnect', () => r()));
  const failed = await new Promise<Error | null>((resolve) => {
    sock.on('error', (e) => resolve(e));
    const ok = sock.renegotiate({ rejectUnauthorized: true }, (err) => resolve(err ?? null));
    if (!ok) resolve(new Error('renegotiate refused locally'));
  });
  sock.destroy();
  assert.ok(failed instanceof Error, 'renegotiation must fail');
});

test('A19: plaintext HTTP to the TLS port gets no HTTP answer', async () => {
  const https = await start(createHttpsServer(pki.clientPortServerOptions(), (_req, res) => res.end('secret')));
  servers.push(https);
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: https.port, path: '/v3/kv/range', method: 'POST' }, (res) => resolve(`status ${res.statusCode}`));
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', (e: Error & { code?: string }) => resolve(`error ${e.code ?? e.message}`));
    req.end('{}');
  });
  assert.match(outcome, /^error /);
});

test('D9: a connection that never completes the handshake is dropped after the handshake timeout', async () => {
  const s = await server(pki.clientPortServerOptions({ handshakeTimeoutMs: 150 }));
  const sock = netConnect({ host: '127.0.0.1', port: s.port });
  sock.on('error', () => {});
  const began = Date.now();
  await new Promise<void>((r) => sock.once('close', () => r()));
  const took = Date.now() - began;
  assert.ok(took >= 100 && took < 4000, `closed after ${took} ms`);
  assert.deepEqual(s.clientErrors, ['ERR_TLS_HANDSHAKE_TIMEOUT']);
});

test('D9: why hardenServer exists: Node alone only reports a handshake timeout and keeps the socket', async () => {
  const bare = await start(createTlsServer(pki.clientPortServerOptions({ handshakeTimeoutMs: 50 })), { harden: false });
  servers.push(bare);
  const sock = netConnect({ host: '127.0.0.1', port: bare.port });
  sock.on('error', () => {});
  const [err, serverSide] = (await once(bare.server, 'tlsClientError')) as [Error & { code?: string }, TLSSocket];
  assert.equal(err.code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
  // Reported, yet the server's socket is still open after the event has run its course.
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(serverSide.destroyed, false);
  serverSide.destroy();
  sock.destroy();
});

test('identityFromSocket refuses a plaintext socket and an unverified TLS socket', async () => {
  assert.throws(() => identityFromSocket({}, clientPolicy), { code: 'NotTls' });
  // requestCert without rejectUnauthorized: the handshake passes, the identity does not.
  const lax = await server(serverTlsOptions({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.clientCa.certPem, rejectUnauthorized: false }));
  assert.deepEqual((await attempt(lax.port, as(oddCert({ issuer: pki.strangerCa })))).reply, { ok: false, code: 'Unverified' });
  assert.deepEqual((await attempt(lax.port, { ca: pki.clientCa.certPem })).reply, { ok: false, code: 'Unverified' });
});

test('identityFromSocket re-checks validity on a connection that outlives its certificate', async () => {
  let now = Date.now();
  const policy: IdentityPolicy = { ...clientPolicy, now: () => now };
  const s = await start(createHttpsServer(pki.clientPortServerOptions(), (req, res) => {
    try {
      res.end(JSON.stringify(identityFromSocket(req.socket as TLSSocket, policy)));
    } catch (e) {
      res.end(JSON.stringify({ code: (e as { code: string }).code }));
    }
  }));
  servers.push(s);
  const sock = tlsConnect({ ...pki.clientOptions('alice'), host: '127.0.0.1', port: s.port, ALPNProtocols: ['http/1.1'] });
  await new Promise<void>((r) => sock.once('secureConnect', () => r()));
  const ask = (): Promise<string> =>
    new Promise((resolve) => {
      let body = '';
      const onData = (d: Buffer): void => {
        body += d.toString();
        const m = /\r\n\r\n(.*)$/s.exec(body);
        const len = /content-length: (\d+)/i.exec(body);
        if (m !== null && len !== null && Buffer.byteLength(m[1]!) >= Number(len[1])) {
          sock.off('data', onData);
          resolve(m[1]!);
        }
      };
      sock.on('data', onData);
      sock.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
  assert.equal(JSON.parse(await ask()).user, 'alice');
  now += 400 * 86_400_000; // past the one-year certificate
  assert.deepEqual(JSON.parse(await ask()), { code: 'Expired' });
  sock.destroy();
});

test('server options: the secure context accepts only what the hardened options allow', () => {
  // The options build a context OpenSSL accepts, with the server certificate the harness made.
  assert.doesNotThrow(() => createSecureContext(serverTlsOptions({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.clientCa.certPem })));
  assert.throws(() => serverTlsOptions({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.clientCa.certPem, requestCert: false }), TypeError);
  assert.ok(TEST_HOSTS.includes('127.0.0.1'));
});

test('why stale CRLs are refused at load: OpenSSL then refuses every client of that CA', async () => {
  const stale = createCrl(pki.clientCa, [], { now: () => Date.now() - 3 * 86_400_000, validityDays: 1 });
  const s = await server(pki.clientPortServerOptions({ crl: stale }));
  assert.equal((await attempt(s.port, pki.clientOptions('alice'))).reply, undefined);
  assert.deepEqual(await failures(s), ['CRL_HAS_EXPIRED']);
});
