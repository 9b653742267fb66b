// The certs/ directory (`keyward certs init|issue|rotate|revoke`) and key files on disk
// (GUARANTEES A22): layout, 0600/0700, no silent overwrite, atomic writes, refusing keys that
// others can read.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createSecureContext } from 'node:tls';
import {
  CertStore,
  RevocationList,
  loadTlsFiles,
  readPrivateFile,
  writeFileAtomic,
} from '../../src/tls/index.js';
import { parseCertificates } from '../../src/tls/material.js';
import { withTmpDir } from '../harness/tmpdir.js';
import { TEST_HOSTS, writeTestPki } from '../harness/certs.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? [p, ...walk(p)] : [p];
  });
}

test('init lays out both CAs, each member\'s server and peer certificates and the root user; A22: dirs 0700, files 0600', () =>
  withTmpDir((tmp) => {
    const root = tmp.sub('certs');
    const { init } = writeTestPki(root, ['m1', { name: 'm2', hosts: ['10.0.0.2', 'm2.internal'] }]);
    const files = walk(root).map((p) => relative(root, p)).sort();
    assert.deepEqual(files, [
      'ca', 'ca/client-ca.crt', 'ca/client-ca.key', 'ca/peer-ca.crt', 'ca/peer-ca.key',
      'clients', 'clients/root.crt', 'clients/root.key',
      'members', 'members/m1', 'members/m1/peer.crt', 'members/m1/peer.key', 'members/m1/server.crt', 'members/m1/server.key',
      'members/m2', 'members/m2/peer.crt', 'members/m2/peer.key', 'members/m2/server.crt', 'members/m2/server.key',
    ]);
    assert.equal(mode(root), 0o700);
    for (const p of walk(root)) assert.equal(mode(p), statSync(p).isDirectory() ? 0o700 : 0o600, relative(root, p));

    const [m2server] = parseCertificates(readFileSync(init.members[1]!.server.cert), 'm2');
    assert.equal(m2server!.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.2, DNS:m2.internal');
    const [admin] = parseCertificates(readFileSync(init.admin.cert), 'admin');
    assert.equal(admin!.subject, 'CN=root');
    assert.equal(init.admin.cert, join(root, 'clients', 'root.crt'));
    // The member's files load as listener material.
    const m = loadTlsFiles({ certFile: init.members[0]!.server.cert, keyFile: init.members[0]!.server.key, caFile: init.clientCa.cert });
    assert.equal(m.leafSerial, init.members[0]!.server.serial);
  }));

test('init refuses to overwrite anything unless asked, and writes nothing when it refuses', () =>
  withTmpDir((tmp) => {
    const root = tmp.sub('certs');
    const store = new CertStore(root);
    const first = store.init(['m1'], TEST_HOSTS);
    const caBefore = readFileSync(first.clientCa.key);
    assert.throws(() => store.init(['m1'], TEST_HOSTS), { code: 'FileExists' });
    // A new member name alone still collides on the CAs.
    assert.throws(() => store.init(['m9'], TEST_HOSTS), { code: 'FileExists' });
    assert.equal(statSync(join(root, 'members')).isDirectory(), true);
    assert.deepEqual(readdirSync(join(root, 'members')), ['m1']);
    assert.deepEqual(readFileSync(first.clientCa.key), caBefore);
    const second = store.init(['m1'], TEST_HOSTS, { overwrite: true });
    assert.notDeepEqual(readFileSync(second.clientCa.key), caBefore);
  }));

test('init validates every name and host before creating anything', () =>
  withTmpDir((tmp) => {
    const root = tmp.sub('certs');
    const store = new CertStore(root);
    assert.throws(() => store.init(['m1', '../evil'], TEST_HOSTS), { code: 'InvalidName' });
    assert.throws(() => store.init(['m1', { name: 'm2', hosts: ['bad host'] }], TEST_HOSTS), { code: 'InvalidName' });
    assert.throws(() => store.init(['m1', 'm1'], TEST_HOSTS), { code: 'InvalidName' });
    assert.throws(() => store.init(['m1'], []), { code: 'InvalidName' });
    assert.throws(() => statSync(root), { code: 'ENOENT' });
  }));

test('A22: an existing certs directory of ours with a broad mode is tightened to 0700', () =>
  withTmpDir((tmp) => {
    const root = tmp.sub('certs');
    mkdirSync(root, { mode: 0o755 });
    chmodSync(root, 0o755);
    writeTestPki(root);
    assert.equal(mode(root), 0o700);
  }));

test('issueClient: clients/<user> or tenants/<tenant>/<user>, never over an existing one unless asked', () =>
  withTmpDir((tmp) => {
    const { store } = writeTestPki(tmp.sub('certs'));
    const alice = store.issueClient('alice');
    assert.equal(alice.cert, join(tmp.sub('certs'), 'clients', 'alice.crt'));
    const bob = store.issueClient('bob', 'acme');
    assert.equal(bob.key, join(tmp.sub('certs'), 'tenants', 'acme', 'bob.key'));
    assert.equal(parseCertificates(readFileSync(bob.cert), 'bob')[0]!.subject, 'CN=bob\nO=acme');
    assert.equal(mode(bob.key), 0o600);
    assert.equal(mode(join(tmp.sub('certs'), 'tenants', 'acme')), 0o700);
    assert.throws(() => store.issueClient('alice'), { code: 'FileExists' });
    const again = store.issueClient('alice', undefined, { overwrite: true });
    assert.notEqual(again.serial, alice.serial);
    assert.throws(() => store.issueClient('../ca/client-ca'), { code: 'InvalidName' });
    assert.throws(() => store.issueClient('carol', '../../ca'), { code: 'InvalidName' });
  }));

test('rotate: new keys and serials, same host names, old serials reported; the old key is gone', () =>
  withTmpDir((tmp) => {
    const { store, init } = writeTestPki(tmp.sub('certs'), [{ name: 'm1', hosts: ['10.9.9.9'] }]);
    const before = init.members[0]!;
    const oldKey = readFileSync(before.server.key);
    const r = store.rotate('m1');
    assert.notEqual(r.server.serial, before.server.serial);
    assert.notEqual(r.peer.serial, before.peer.serial);
    assert.deepEqual(r.previousSerials, { server: before.server.serial, peer: before.peer.serial });
    assert.notDeepEqual(readFileSync(r.server.key), oldKey);
    const [cert] = parseCertificates(readFileSync(r.server.cert), 'server');
    assert.equal(cert!.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.9.9.9');
    assert.equal(mode(r.server.key), 0o600);
    // New names on request; an unknown member has nothing to take names from.
    assert.equal(parseCertificates(readFileSync(store.rotate('m1', { hosts: ['m1.new'] }).peer.cert), 'peer')[0]!.subjectAltName, 'DNS:m1.new');
    assert.throws(() => store.rotate('m5'), { code: 'FileMissing' });
    // No temp files are left behind by the atomic writes.
    assert.deepEqual(walk(tmp.sub('certs')).filter((p) => p.endsWith('.tmp')), []);
  }));

test('addMember issues for a member joining later; the CA key must not be readable by others', () =>
  withTmpDir((tmp) => {
    const { store, init } = writeTestPki(tmp.sub('certs'));
    const m3 = store.addMember({ name: 'm3', hosts: ['10.0.0.3'] }, ['localhost']);
    assert.equal(parseCertificates(readFileSync(m3.peer.cert), 'peer')[0]!.subject, 'CN=m3');
    assert.throws(() => store.addMember('m3', ['localhost']), { code: 'FileExists' });
    chmodSync(init.clientCa.key, 0o644);
    assert.throws(() => store.issueClient('dave'), { code: 'FilePermissions' });
  }));

test('revoke: serials land in revoked.txt and in a CRL per CA that OpenSSL accepts', () =>
  withTmpDir((tmp) => {
    const { store, init } = writeTestPki(tmp.sub('certs'));
    const alice = store.issueClient('alice');
    const r = store.revoke([alice.serial]);
    assert.deepEqual(r.revoked, [alice.serial]);
    assert.deepEqual(RevocationList.parse(readFileSync(store.layout.revoked, 'utf8')), [alice.serial]);
    assert.deepEqual(r.crls, [store.layout.clientCa.crl, store.layout.peerCa.crl]);
    const crl = readFileSync(store.layout.clientCa.crl, 'utf8');
    assert.doesNotThrow(() => createSecureContext({ ca: readFileSync(init.clientCa.cert), crl }));
    // Revoking more keeps what was there.
    assert.deepEqual(store.revoke([init.admin.serial]).revoked, [alice.serial, init.admin.serial].sort());
    assert.equal(mode(store.layout.revoked), 0o600);
  }));

test('A22: writeFileAtomic writes 0600 whatever the umask, refuses to replace unless asked, leaves no temp file', () =>
  withTmpDir((tmp) => {
    const p = join(tmp.path, 'keys', 'k.key');
    const oldUmask = process.umask(0);
    try {
      writeFileAtomic(p, 'one');
    } finally {
      process.umask(oldUmask);
    }
    assert.equal(mode(p), 0o600);
    assert.equal(mode(join(tmp.path, 'keys')), 0o700);
    assert.throws(() => writeFileAtomic(p, 'two'), { code: 'FileExists' });
    assert.equal(readFileSync(p, 'utf8'), 'one');
    writeFileAtomic(p, 'three', { overwrite: true });
    assert.equal(readFileSync(p, 'utf8'), 'three');
    assert.deepEqual(readdirSync(join(tmp.path, 'keys')), ['k.key']);
  }));

test('A22: a private key that others can read is refused, whatever else is right about it', () =>
  withTmpDir((tmp) => {
    const { init } = writeTestPki(tmp.sub('certs'));
    const m = init.members[0]!;
    for (const bad of [0o644, 0o640, 0o604]) {
      chmodSync(m.server.key, bad);
      assert.throws(() => readPrivateFile(m.server.key), { code: 'FilePermissions' }, bad.toString(8));
      assert.throws(() => loadTlsFiles({ certFile: m.server.cert, keyFile: m.server.key, caFile: init.clientCa.cert }), { code: 'FilePermissions' });
    }
    chmodSync(m.server.key, 0o400);
    assert.ok(readPrivateFile(m.server.key).length > 0);
    assert.throws(() => readPrivateFile(join(tmp.path, 'nope.key')), { code: 'FileMissing' });
    writeFileSync(join(tmp.path, 'dir.key'), '');
    assert.throws(() => readPrivateFile(tmp.path), { code: 'FileMissing' });
  }));
