import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenService } from '../../src/auth/index.js';
import { parseMemberSpec } from '../../src/cli/certs-commands.js';
import { UsageError } from '../../src/cli/kv-commands.js';
import { certLayout, normalizeSerial } from '../../src/tls/index.js';
import { runKeyward } from '../harness/process.js';

// `keyward certs init|issue|add-member|rotate|revoke` with the real binary: files land where
// src/tls's CertStore layout says, private keys are 0600 in 0700 directories, every path is
// printed, and errors exit 2 (usage, bad names) or 1 (failures) with the TlsError code.

const root = mkdtempSync(join(tmpdir(), 'keyward-certs-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

const mode = (p: string): number => statSync(p).mode & 0o777;
const serialOf = (p: string): string => normalizeSerial(new X509Certificate(readFileSync(p)).serialNumber);

test('certs init: CAs, each member\'s server and peer certificates with its hosts, root\'s certificate, the token key; every path printed', async () => {
  const dir = join(root, 'init');
  const r = await runKeyward(['certs', 'init', '--dir', dir, '--member', 'm1=m1.example,10.0.0.1', '--member', 'm2', '--host', 'cluster.example']);
  assert.equal(r.code, 0, r.stderr);
  const l = certLayout(dir);
  const keys = [l.clientCa.key, l.peerCa.key, l.member('m1').server.key, l.member('m1').peer.key, l.member('m2').server.key, l.member('m2').peer.key, l.client('root').key, join(dir, 'auth', 'token.key')];
  const certs = [l.clientCa.cert, l.peerCa.cert, l.member('m1').server.cert, l.member('m1').peer.cert, l.member('m2').server.cert, l.client('root').cert];
  for (const p of [...keys, ...certs]) {
    assert.ok(existsSync(p), p);
    assert.ok(r.stdout.includes(p), `${p} is printed`);
  }
  for (const k of keys) assert.equal(mode(k), 0o600, k);
  for (const d of [dir, join(dir, 'ca'), join(dir, 'auth'), join(dir, 'clients'), join(dir, 'members', 'm1')]) assert.equal(mode(d), 0o700, d);
  const m1 = new X509Certificate(readFileSync(l.member('m1').server.cert));
  for (const h of ['DNS:m1.example', 'IP Address:10.0.0.1', 'DNS:cluster.example', 'DNS:localhost', 'IP Address:127.0.0.1']) assert.ok(m1.subjectAltName!.includes(h), h);
  assert.ok(!new X509Certificate(readFileSync(l.member('m2').server.cert)).subjectAltName!.includes('m1.example'));
  assert.match(new X509Certificate(readFileSync(l.client('root').cert)).subject, /CN=root/);
  // The token key is what the server loads (TokenService.load checks the mode and the key type).
  const tokens = await TokenService.load({ keyFile: join(dir, 'auth', 'token.key'), audience: 'keyward:1', ttlSeconds: 60 });
  assert.ok((await tokens.issue({ user: 'u', revision: 1 })).split('.').length === 3);

  // Nothing is replaced without --force: exit 1, FileExists, the files unchanged.
  const before = readFileSync(l.clientCa.cert, 'utf8');
  const again = await runKeyward(['certs', 'init', '--dir', dir]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^keyward: .* \(FileExists\)\n$/);
  assert.equal(readFileSync(l.clientCa.cert, 'utf8'), before);
});

test('certs init without --member makes the member "default" (keyward serve\'s default name); the token key is kept', async () => {
  const dir = join(root, 'default');
  const r = await runKeyward(['certs', 'init', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(certLayout(dir).member('default').server.cert));
  const key = readFileSync(join(dir, 'auth', 'token.key'), 'utf8');
  const forced = await runKeyward(['certs', 'init', '--dir', dir, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /token signing key: .*token\.key \(kept: it already existed\)/);
  assert.equal(readFileSync(join(dir, 'auth', 'token.key'), 'utf8'), key, 'every member keeps sharing the same token key');
});

test('certs issue: a user\'s and a tenant user\'s certificate, 0600 key, printed; errors exit 2 or 1 with the code', async () => {
  const dir = join(root, 'issue');
  assert.equal((await runKeyward(['certs', 'init', '--dir', dir])).code, 0);
  const r = await runKeyward(['certs', 'issue', '--dir', dir, '--user', 'alice']);
  assert.equal(r.code, 0, r.stderr);
  const a = certLayout(dir).client('alice');
  assert.match(r.stdout, new RegExp(`^client certificate for alice: ${a.cert} \\(key ${a.key}\\), serial [0-9A-F]+, valid until .+\\n$`));
  assert.equal(mode(a.key), 0o600);
  const t = await runKeyward(['certs', 'issue', '--dir', dir, '--user', 'bob', '--tenant', 'acme']);
  assert.equal(t.code, 0, t.stderr);
  const b = certLayout(dir).client('bob', 'acme');
  assert.match(new X509Certificate(readFileSync(b.cert)).subject, /O=acme/);
  assert.ok(t.stdout.includes(b.cert));

  const dup = await runKeyward(['certs', 'issue', '--dir', dir, '--user', 'alice']);
  assert.deepEqual([dup.code, /\(FileExists\)/.test(dup.stderr)], [1, true]);
  const noUser = await runKeyward(['certs', 'issue', '--dir', dir]);
  assert.deepEqual([noUser.code, noUser.stderr], [2, 'keyward: certs issue needs --user NAME\n']);
  const badName = await runKeyward(['certs', 'issue', '--dir', dir, '--user', 'a/../b']);
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /\(InvalidName\)\n$/);
  const badTenant = await runKeyward(['certs', 'issue', '--dir', dir, '--user', 'x', '--tenant', 'Not A Tenant']);
  assert.equal(badTenant.code, 2);
  const noStore = await runKeyward(['certs', 'issue', '--dir', join(root, 'nothing-here'), '--user', 'x']);
  assert.equal(noStore.code, 1);
  assert.match(noStore.stderr, /\(FileMissing\)\n$/);
});

test('certs add-member and rotate: new certificates with the hosts asked for; rotate prints the old serials to revoke', async () => {
  const dir = join(root, 'rotate');
  assert.equal((await runKeyward(['certs', 'init', '--dir', dir, '--member', 'm1=m1.example'])).code, 0);
  const l = certLayout(dir);
  const add = await runKeyward(['certs', 'add-member', 'm4', '--dir', dir, '--host', 'm4.example']);
  assert.equal(add.code, 0, add.stderr);
  assert.ok(add.stdout.includes(l.member('m4').peer.cert));
  assert.ok(new X509Certificate(readFileSync(l.member('m4').peer.cert)).subjectAltName!.includes('DNS:m4.example'));
  assert.equal(mode(l.member('m4').peer.key), 0o600);

  const oldServer = serialOf(l.member('m1').server.cert);
  const oldPeer = serialOf(l.member('m1').peer.cert);
  const r = await runKeyward(['certs', 'rotate', '--dir', dir, '--member', 'm1']);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(serialOf(l.member('m1').server.cert), oldServer);
  assert.ok(new X509Certificate(readFileSync(l.member('m1').server.cert)).subjectAltName!.includes('DNS:m1.example'), 'hosts kept');
  assert.ok(r.stdout.includes(`keyward certs revoke --serial ${oldServer} --serial ${oldPeer}`), r.stdout);
  assert.equal(mode(l.member('m1').server.key), 0o600);
  const none = await runKeyward(['certs', 'rotate', '--dir', dir]);
  assert.deepEqual([none.code, none.stderr], [2, 'keyward: certs rotate needs --member NAME\n']);
});

test('certs revoke: by serial, by user (serial read from the certificate) and by file; revoked.txt and both CRLs written', async () => {
  const dir = join(root, 'revoke');
  assert.equal((await runKeyward(['certs', 'init', '--dir', dir])).code, 0);
  assert.equal((await runKeyward(['certs', 'issue', '--dir', dir, '--user', 'eve', '--tenant', 'acme'])).code, 0);
  assert.equal((await runKeyward(['certs', 'issue', '--dir', dir, '--user', 'mallory'])).code, 0);
  const l = certLayout(dir);
  const eve = serialOf(l.client('eve', 'acme').cert);
  const mallory = serialOf(l.client('mallory').cert);
  const r = await runKeyward(['certs', 'revoke', '--dir', dir, '--user', 'eve', '--tenant', 'acme']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith(`revoked: ${eve}\n`), r.stdout);
  assert.ok(r.stdout.includes(l.revoked) && r.stdout.includes(l.clientCa.crl) && r.stdout.includes(l.peerCa.crl));
  assert.ok(readFileSync(l.revoked, 'utf8').includes(eve));
  const byFile = await runKeyward(['certs', 'revoke', '--dir', dir, '--cert-file', l.client('mallory').cert, '--serial', 'AB:CD']);
  assert.equal(byFile.code, 0, byFile.stderr);
  const list = readFileSync(l.revoked, 'utf8');
  for (const s of [eve, mallory, normalizeSerial('abcd')]) assert.ok(list.includes(s), s);
  const nothing = await runKeyward(['certs', 'revoke', '--dir', dir]);
  assert.deepEqual([nothing.code, nothing.stderr], [2, 'keyward: certs revoke needs --serial S, --user NAME or --cert-file FILE\n']);
  const missing = await runKeyward(['certs', 'revoke', '--dir', dir, '--user', 'nobody']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read certificate .*nobody\.crt \(ENOENT\)/);
});

test('--member NAME=host,host parses; an empty name is a usage error', () => {
  assert.deepEqual(parseMemberSpec('m1'), { name: 'm1' });
  assert.deepEqual(parseMemberSpec('m1=a.example, 10.0.0.1,'), { name: 'm1', hosts: ['a.example', '10.0.0.1'] });
  assert.throws(() => parseMemberSpec('=a'), UsageError);
});
