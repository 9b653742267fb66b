// Certificate issuance: profiles, serials, validity, names, CRLs, and the checks applied to
// material before it is served. Certificates are read back with Node's X509Certificate
// (OpenSSL) and, for fields Node does not expose, with the strict DER reader.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSecureContext } from 'node:tls';
import {
  checkIssuedName,
  checkMaterial,
  checkTenantId,
  createCa,
  createCrl,
  isWellFormedCn,
  issueClientCertificate,
  issuePeerCertificate,
  issueServerCertificate,
  normalizeSerial,
  parseHost,
  serverTlsOptions,
  clientTlsOptions,
  generatePrivateKey,
  EKU_CLIENT_AUTH,
  EKU_SERVER_AUTH,
} from '../../src/tls/index.js';
import { certificateParts, readOne, altNames } from '../../src/tls/der.js';
import { buildCertificate } from '../../src/tls/x509.js';
import { privateKeyPem } from '../../src/tls/keys.js';
import { testPki, TEST_HOSTS } from '../harness/certs.js';
import { attempt, failures, identityOf, listen, type TestServer } from './helpers.js';

const pki = testPki();
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const ext = (der: Buffer, oid: string) => certificateParts(der).extensions.get(oid);

test('a CA is self-signed, CA:true with pathlen 0, critical keyCertSign+cRLSign, and named uniquely', () => {
  const ca = pki.clientCa.cert;
  assert.equal(ca.ca, true);
  assert.equal(ca.subject, ca.issuer);
  assert.ok(ca.verify(ca.publicKey));
  // basicConstraints: SEQUENCE { BOOLEAN TRUE, INTEGER 0 }, critical.
  assert.deepEqual(ext(ca.raw, '2.5.29.19'), { critical: true, value: Buffer.from('30060101ff020100', 'hex') });
  // keyUsage: BIT STRING, 1 unused bit, keyCertSign (bit 5) + cRLSign (bit 6) = 0x06.
  assert.deepEqual(ext(ca.raw, '2.5.29.15'), { critical: true, value: Buffer.from('03020106', 'hex') });
  assert.match(ca.subject, /^CN=keyward client CA [0-9a-f]{8}$/);
  assert.notEqual(pki.clientCa.cert.subject, pki.strangerCa.cert.subject);
  assert.equal(pki.clientCa.cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

test('profiles: server (serverAuth, SANs), peer (serverAuth+clientAuth, CN=member), client (clientAuth only, CN=user, O=tenant)', () => {
  const s = pki.server.cert;
  assert.deepEqual(s.keyUsage, [EKU_SERVER_AUTH]);
  assert.equal(s.ca, false);
  assert.ok(s.checkIssued(pki.clientCa.cert) && s.verify(pki.clientCa.cert.publicKey));
  assert.equal(s.checkHost('localhost'), 'localhost');
  assert.equal(s.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(s.checkIP('::1'), '::1');
  assert.deepEqual(altNames(certificateParts(s.raw)), { dns: ['localhost'], ips: ['127.0.0.1', '0:0:0:0:0:0:0:1'], uris: [] });
  // End entities: basicConstraints critical CA:false (empty SEQUENCE), keyUsage digitalSignature only.
  assert.deepEqual(ext(s.raw, '2.5.29.19'), { critical: true, value: Buffer.from('3000', 'hex') });
  assert.deepEqual(ext(s.raw, '2.5.29.15'), { critical: true, value: Buffer.from('03020780', 'hex') });

  const p = pki.peer('m7').cert;
  assert.deepEqual([...(p.keyUsage ?? [])].sort(), [EKU_SERVER_AUTH, EKU_CLIENT_AUTH].sort());
  assert.equal(p.subject, 'CN=m7');
  assert.ok(p.checkIssued(pki.peerCa.cert));
  assert.equal(p.checkIssued(pki.clientCa.cert), false);

  const c = pki.client('bob', 'acme').cert;
  assert.deepEqual(c.keyUsage, [EKU_CLIENT_AUTH]);
  assert.equal(c.subject, 'CN=bob\nO=acme');
  assert.equal(c.subjectAltName, undefined);
  // Subject key identifier and the issuer's key identifier link the chain.
  assert.ok(ext(c.raw, '2.5.29.14') !== undefined && ext(c.raw, '2.5.29.35') !== undefined);
});

test('serial numbers are 126 random bits, positive, distinct', () => {
  const serials = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const c = issueClientCertificate(pki.clientCa, 'alice');
    assert.match(c.serial, /^[4-7][0-9A-F]{31}$/);
    assert.equal(c.serial, normalizeSerial(c.cert.serialNumber));
    serials.add(c.serial);
  }
  assert.equal(serials.size, 40);
});

test('validity: backdated 5 minutes for clock skew, ends after validityDays; CAs default to 10 years, leaves to 1', () => {
  const now = Date.UTC(2030, 0, 15, 12, 0, 0);
  const ca = createCa('client', { now: () => now });
  const leaf = issueClientCertificate(ca, 'alice', undefined, { now: () => now, validityDays: 7 });
  assert.equal(Date.parse(leaf.cert.validFrom), now - 5 * 60_000);
  assert.equal(Date.parse(leaf.cert.validTo), now + 7 * 86_400_000);
  assert.equal(Date.parse(ca.cert.validTo), now + 3650 * 86_400_000);
  assert.equal(Date.parse(issueServerCertificate(ca, 'm1', ['localhost'], { now: () => now }).cert.validTo), now + 365 * 86_400_000);
  // Past 2049 the encoding switches to GeneralizedTime and still reads back.
  const late = issueClientCertificate(ca, 'alice', undefined, { now: () => now, validityDays: 36_000 });
  assert.equal(Date.parse(late.cert.validTo), now + 36_000 * 86_400_000);
  assert.throws(() => issueClientCertificate(ca, 'alice', undefined, { validityDays: 0 }), TypeError);
});

test('names we issue: letters, digits and . _ - @ inside, never a path, a space or a control character', () => {
  for (const ok of ['root', 'alice', 'svc.payments', 'a_b-c', 'ops@example.com', 'x', 'A1']) assert.equal(checkIssuedName('user', ok), ok);
  for (const bad of ['', '../ca/client-ca', 'a/b', 'a\\b', '.hidden', 'a..b', 'trailing.', 'al ice', 'nul\u0000', 'x'.repeat(65), 'é', '-dash']) {
    assert.throws(() => checkIssuedName('user', bad), { code: 'InvalidName' }, JSON.stringify(bad));
  }
  assert.equal(checkTenantId('acme-1'), 'acme-1');
  for (const bad of ['Acme', '', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(64)]) assert.throws(() => checkTenantId(bad), { code: 'InvalidName' }, bad);
  assert.deepEqual(parseHost('10.0.0.1'), { kind: 'ip', value: '10.0.0.1' });
  assert.deepEqual(parseHost('Node-1.Example.COM'), { kind: 'dns', value: 'node-1.example.com' });
  for (const bad of ['*.example.com', 'exa mple', '', 'a..b', '-a.com', 'http://x']) assert.throws(() => parseHost(bad), { code: 'InvalidName' }, bad);
  assert.throws(() => issueClientCertificate(pki.clientCa, '../root'), { code: 'InvalidName' });
  assert.throws(() => issueServerCertificate(pki.clientCa, 'm1', []), { code: 'InvalidName' });
});

test('CNs we read: well-formed Unicode only', () => {
  for (const ok of ['root', 'josé', 'Zoë Q', '山田', 'a.b@c']) assert.equal(isWellFormedCn(ok), true, ok);
  for (const bad of ['', 'a\u0000b', 'a\nb', 'a\u007fb', 'a\u0085b', 'ali\u202ece', 'ro\u200bot', 'x\ufeff', 'jose\u0301', ' root', 'root ', 'a\u2028b', '\ud800', 'a\ue000', 'x'.repeat(65)]) {
    assert.equal(isWellFormedCn(bad), false, JSON.stringify(bad));
  }
});

test('a CA issues only with its own key, and a non-CA cannot issue', () => {
  assert.throws(() => issueClientCertificate({ cert: pki.clientCa.cert, key: pki.peerCa.key }, 'alice'), { code: 'KeyMismatch' });
  assert.throws(() => issueClientCertificate({ cert: pki.server.cert, key: pki.server.key }, 'alice'), { code: 'NotCa' });
});

test('pathlen 0: a sub-CA minted under the client CA cannot vouch for anyone', async () => {
  const subKey = generatePrivateKey();
  const now = Date.now();
  const sub = buildCertificate({ subject: [{ type: 'CN', value: 'rogue sub-CA' }], key: subKey, ca: true, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) }, pki.clientCa.key, pki.clientCa.cert);
  const leafKey = generatePrivateKey();
  const leaf = buildCertificate({ subject: [{ type: 'CN', value: 'root' }], key: leafKey, extKeyUsage: ['clientAuth'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) }, subKey, sub);
  const s = await listen(pki.clientPortServerOptions(), { expect: 'client', issuers: [pki.clientCa.cert] });
  servers.push(s);
  const a = await attempt(s.port, clientTlsOptions({ cert: `${leaf.toString()}${sub.toString()}`, key: privateKeyPem(leafKey), ca: pki.clientCa.certPem }));
  assert.equal(a.reply, undefined);
  assert.deepEqual(await failures(s), ['PATH_LENGTH_EXCEEDED']);
});

test('RSA keys work end to end (for clients that cannot do ECDSA)', async () => {
  const ca = createCa('client', { keyAlgorithm: 'rsa-2048' });
  assert.equal(ca.cert.publicKey.asymmetricKeyType, 'rsa');
  const server = issueServerCertificate(ca, 'm1', TEST_HOSTS, { keyAlgorithm: 'rsa-2048' });
  const alice = issueClientCertificate(ca, 'alice'); // ECDSA leaf under an RSA CA
  const s = await listen(serverTlsOptions({ cert: server.certPem, key: server.keyPem, ca: ca.certPem }), { expect: 'client', issuers: [ca.cert] });
  servers.push(s);
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const a = await attempt(s.port, { ...clientTlsOptions({ cert: alice.certPem, key: alice.keyPem, ca: ca.certPem }), maxVersion });
    assert.equal(a.protocol, maxVersion);
    assert.equal(identityOf(a).kind, 'client');
  }
});

test('CRLs: OpenSSL accepts an empty one and a populated one; serials may be spelled any way', () => {
  const serial = pki.client('alice').serial;
  for (const crl of [createCrl(pki.clientCa, []), createCrl(pki.clientCa, [serial, serial.toLowerCase(), `00${serial}`, 'ff', '1'])]) {
    assert.match(crl, /^-----BEGIN X509 CRL-----\n/);
    assert.doesNotThrow(() => createSecureContext({ ca: pki.clientCa.certPem, crl }));
  }
  assert.throws(() => createCrl(pki.clientCa, ['not-hex']), { code: 'InvalidName' });
});

test('an explicit serial with its top bit set is still a positive INTEGER', () => {
  const key = generatePrivateKey();
  const now = Date.now();
  const c = buildCertificate({ subject: [{ type: 'CN', value: 'x' }], key, serial: Buffer.from('00ff01', 'hex'), notBefore: new Date(now), notAfter: new Date(now + 60_000) }, pki.clientCa.key, pki.clientCa.cert);
  assert.equal(normalizeSerial(c.serialNumber), 'FF01');
  assert.equal(certificateParts(c.raw).serial.toString('hex'), 'ff01');
});

test('normalizeSerial: one spelling', () => {
  assert.equal(normalizeSerial('ab:cd:0e'), 'ABCD0E');
  assert.equal(normalizeSerial('000ABC'), 'ABC');
  assert.equal(normalizeSerial('0'), '0');
  assert.throws(() => normalizeSerial('12g'), { code: 'InvalidName' });
});

test('the DER reader is strict: non-minimal lengths, indefinite lengths and trailing bytes are refused', () => {
  assert.throws(() => readOne(Buffer.from('3081020500', 'hex')), { code: 'InvalidMaterial' }); // long form for 2
  assert.throws(() => readOne(Buffer.from('30800000', 'hex')), { code: 'InvalidMaterial' }); // indefinite
  assert.throws(() => readOne(Buffer.from('30000000', 'hex')), { code: 'InvalidMaterial' }); // trailing
  assert.throws(() => readOne(Buffer.from('3005', 'hex')), { code: 'InvalidMaterial' }); // truncated
  assert.throws(() => certificateParts(Buffer.from('3000', 'hex')), { code: 'InvalidMaterial' });
});

test('material checks: key mismatch, non-CA trust anchors, expired or future certificates, garbage and encrypted keys are refused', () => {
  const base = { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.clientCa.certPem };
  assert.equal(checkMaterial(base).leafSerial, pki.server.serial);
  assert.throws(() => checkMaterial({ ...base, key: pki.client('alice').keyPem }), { code: 'KeyMismatch' });
  assert.throws(() => checkMaterial({ ...base, ca: pki.client('alice').certPem }), { code: 'NotCa' });
  assert.throws(() => checkMaterial({ ...base, cert: 'garbage' }), { code: 'InvalidMaterial' });
  assert.throws(() => checkMaterial({ ...base, cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }), { code: 'InvalidMaterial' });
  assert.throws(() => checkMaterial({ ...base, ca: pki.server.keyPem }), { code: 'InvalidMaterial' });
  assert.throws(() => checkMaterial({ ...base, key: `${pki.server.keyPem}${pki.server.keyPem}` }), { code: 'InvalidMaterial' });
  const encrypted = pki.server.key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
  assert.throws(() => checkMaterial({ ...base, key: encrypted }), { code: 'InvalidMaterial' });
  assert.throws(() => checkMaterial({ ...base, crl: 'not a crl' }), { code: 'InvalidMaterial' });
  assert.throws(() => checkMaterial({ ...base, crl: pki.clientCa.certPem }), { code: 'InvalidMaterial' });
  // A CRL past its nextUpdate would make OpenSSL refuse every client (CRL_HAS_EXPIRED): refused at load.
  const stale = createCrl(pki.clientCa, [], { now: () => Date.now() - 3 * 86_400_000, validityDays: 1 });
  assert.throws(() => checkMaterial({ ...base, crl: stale }), { code: 'Expired' });
  assert.equal(checkMaterial({ ...base, crl: createCrl(pki.clientCa, []) }).crl?.startsWith('-----BEGIN X509 CRL-----'), true);
  assert.throws(() => checkMaterial({ ...base, revoked: 'zz-top\n' }), { code: 'InvalidMaterial' });
  assert.throws(() => checkMaterial(base, { now: () => Date.now() + 400 * 86_400_000 }), { code: 'Expired' });
  assert.throws(() => checkMaterial(base, { now: () => Date.now() - 86_400_000 }), { code: 'Expired' });
  // Text around the blocks (openssl's "subject=" lines) is fine, as is a chain file.
  assert.equal(checkMaterial({ ...base, cert: `subject=CN=m1\n${pki.server.certPem}${pki.clientCa.certPem}` }).chain.length, 2);
  assert.equal(checkMaterial({ ...base, ca: `${pki.clientCa.certPem}${pki.peerCa.certPem}` }).cas.length, 2);
});

test('a peer certificate needs a host, and issuance validates every host', () => {
  assert.throws(() => issuePeerCertificate(pki.peerCa, 'm1', ['ok.example', 'bad host']), { code: 'InvalidName' });
  const p = issuePeerCertificate(pki.peerCa, 'm1', ['10.1.2.3', 'm1.cluster.local', '10.1.2.3']);
  assert.equal(p.cert.subjectAltName, 'IP Address:10.1.2.3, DNS:m1.cluster.local');
});
