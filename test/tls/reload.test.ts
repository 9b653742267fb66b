// Certificate reload without a restart: a rotated certificate is served to new connections; a
// broken one never replaces a working one; the hardened options survive; revocations loaded
// from disk (denylist or CRL) take effect at once (A18b). Files are made by CertStore in temp
// dirs and changed the way an operator would change them; the tests wait for the reloader's
// outcome events rather than for time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, readFileSync, unlinkSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import {
  TlsReloader,
  clientTlsOptions,
  generatePrivateKey,
  normalizeSerial,
  writeFileAtomic,
  type CertLayout,
  type CertStore,
  type IdentityPolicy,
  type ReloadOutcome,
  type ReloaderOptions,
} from '../../src/tls/index.js';
import { buildCertificate } from '../../src/tls/x509.js';
import { privateKeyPem } from '../../src/tls/keys.js';
import { withTmpDir, type TmpDir } from '../harness/tmpdir.js';
import { writeTestPki } from '../harness/certs.js';
import { attempt, failures, identityOf, listen, start, type TestServer } from './helpers.js';

interface Fixture {
  readonly store: ReturnType<typeof writeTestPki>['store'];
  readonly init: ReturnType<typeof writeTestPki>['init'];
  readonly reloader: TlsReloader;
  readonly server: TestServer;
  /** Client options for a user certificate in the store (read from disk now). */
  as(user: string, tenant?: string): ReturnType<typeof clientTlsOptions>;
  /** Resolves with the first reload outcome that satisfies `pred`. */
  until(pred: (o: ReloadOutcome) => boolean): Promise<ReloadOutcome>;
  close(): Promise<void>;
}

interface FixtureOptions {
  /** Runs on the fresh store before the reloader starts. */
  readonly prepare?: (store: CertStore) => void;
  /** Reloader options on top of the member's server files; may name other files of the store. */
  readonly reloader?: (layout: CertLayout) => Partial<ReloaderOptions>;
}

async function fixture(tmp: TmpDir, o: FixtureOptions = {}): Promise<Fixture> {
  const { store, init } = writeTestPki(tmp.sub('certs'));
  o.prepare?.(store);
  const extra = o.reloader?.(store.layout) ?? {};
  const m = init.members[0]!;
  // What clients trust is fixed here: some cases break the CA file on purpose.
  const clientCa = readFileSync(init.clientCa.cert);
  const reloader = new TlsReloader({ certFile: m.server.cert, keyFile: m.server.key, caFile: init.clientCa.cert, debounceMs: 20, ...extra });
  const policy: IdentityPolicy = { expect: 'client', issuers: () => reloader.cas, revocation: reloader.revocation };
  const server = await listen(reloader.serverOptions(), policy);
  const detach = reloader.attach(server.server, { harden: false }); // listen() hardened it
  return {
    store,
    init,
    reloader,
    server,
    as(user, tenant) {
      const paths = store.layout.client(user, tenant);
      return clientTlsOptions({ cert: readFileSync(paths.cert), key: readFileSync(paths.key), ca: clientCa, servername: 'localhost' });
    },
    until: (pred) =>
      new Promise((resolve) => {
        const off = reloader.onReload((o) => {
          if (pred(o)) {
            off();
            resolve(o);
          }
        });
      }),
    async close() {
      detach();
      await reloader.close();
      await server.close();
    },
  };
}

// A missed event fails the test instead of hanging the run.
const T = { timeout: 20_000 };

const changed = (o: ReloadOutcome): boolean => o.ok && o.changed;
const failedWith = (code: string) => (o: ReloadOutcome): boolean => !o.ok && o.error.code === code;

test('a rotated certificate is served to new connections without a restart', T, () =>
  withTmpDir(async (tmp) => {
    const f = await fixture(tmp);
    try {
      const before = await attempt(f.server.port, f.as('root'));
      assert.equal(before.serverSerial, f.init.members[0]!.server.serial);
      const reloaded = f.until(changed);
      const r = f.store.rotate('m1');
      await reloaded;
      const after = await attempt(f.server.port, f.as('root'));
      assert.equal(after.serverSerial, r.server.serial);
      assert.deepEqual(identityOf(after), { kind: 'client', user: 'root', serial: f.init.admin.serial });
      assert.equal(f.reloader.material.leafSerial, r.server.serial);
    } finally {
      await f.close();
    }
  }));

test('a broken new certificate or key never replaces the working context', T, () =>
  withTmpDir(async (tmp) => {
    const f = await fixture(tmp);
    const m = f.init.members[0]!;
    const original = m.server.serial;
    const stillServing = async (what: string): Promise<void> => {
      const a = await attempt(f.server.port, f.as('root'));
      assert.equal(a.serverSerial, original, what);
      assert.equal(identityOf(a).kind, 'client', what);
      assert.equal(f.reloader.material.leafSerial, original, what);
    };
    const goodCert = readFileSync(m.server.cert);
    const goodKey = readFileSync(m.server.key);
    const restore = async (): Promise<void> => {
      writeFileAtomic(m.server.key, goodKey, { overwrite: true });
      writeFileAtomic(m.server.cert, goodCert, { overwrite: true });
      // Back to the very same bytes: the reloader sees no change, so just check it serves.
      f.reloader.reload();
    };
    try {
      // Garbage where the certificate was (a truncated copy, an editor accident).
      let refused = f.until(failedWith('InvalidMaterial'));
      writeFileAtomic(m.server.cert, goodCert.subarray(0, 200), { overwrite: true });
      await refused;
      await stillServing('truncated certificate');
      await restore();

      // A key that belongs to another certificate.
      refused = f.until(failedWith('KeyMismatch'));
      writeFileAtomic(m.server.key, privateKeyPem(generatePrivateKey()), { overwrite: true });
      await refused;
      await stillServing('mismatched key');
      await restore();

      // A well-formed pair, correctly signed, but expired.
      const ca = f.store.loadCa('client');
      const key = generatePrivateKey();
      const now = Date.now();
      const expired = buildCertificate(
        { subject: [{ type: 'CN', value: 'm1' }], key, extKeyUsage: ['serverAuth'], hosts: [{ kind: 'dns', value: 'localhost' }], notBefore: new Date(now - 2 * 86_400_000), notAfter: new Date(now - 86_400_000) },
        ca.key,
        ca.cert,
      );
      refused = f.until(failedWith('Expired'));
      writeFileAtomic(m.server.key, privateKeyPem(key), { overwrite: true });
      writeFileAtomic(m.server.cert, expired.toString(), { overwrite: true });
      await refused;
      await stillServing('expired certificate');
      await restore();

      // The key file deleted, then made readable by others.
      refused = f.until(failedWith('FileMissing'));
      unlinkSync(m.server.key);
      await refused;
      await stillServing('key deleted');
      await restore();
      chmodSync(m.server.key, 0o644);
      assert.equal(f.reloader.reload().ok, false);
      await stillServing('key readable by others');
      chmodSync(m.server.key, 0o600);

      // A CA file that holds no CA.
      refused = f.until(failedWith('NotCa'));
      writeFileAtomic(f.init.clientCa.cert, goodCert, { overwrite: true });
      await refused;
      await stillServing('CA file without a CA');
    } finally {
      await f.close();
    }
  }));

test('A19: the hardened options survive a reload (old protocols, weak ciphers and missing client certificates stay refused)', T, () =>
  withTmpDir(async (tmp) => {
    const f = await fixture(tmp);
    try {
      const reloaded = f.until(changed);
      f.store.rotate('m1');
      await reloaded;
      const base = f.as('root');
      assert.equal((await attempt(f.server.port, { ...base, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).reply, undefined);
      assert.equal((await attempt(f.server.port, { ...base, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' })).reply, undefined);
      assert.equal((await attempt(f.server.port, { ca: base.ca })).reply, undefined);
      assert.deepEqual(await failures(f.server, 3), ['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_NO_SHARED_CIPHER', 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE']);
      assert.equal(identityOf(await attempt(f.server.port, base)).kind, 'client');
    } finally {
      await f.close();
    }
  }));

test('SIGHUP reloads; close() stops listening for it', T, () =>
  withTmpDir(async (tmp) => {
    const listenersBefore = process.listenerCount('SIGHUP');
    const f = await fixture(tmp, { reloader: () => ({ watch: false, sighup: true }) });
    try {
      assert.equal(process.listenerCount('SIGHUP'), listenersBefore + 1);
      const r = f.store.rotate('m1');
      const reloaded = f.until(changed);
      process.kill(process.pid, 'SIGHUP');
      await reloaded;
      assert.equal((await attempt(f.server.port, f.as('root'))).serverSerial, r.server.serial);
    } finally {
      await f.close();
      await f.close(); // idempotent
    }
    assert.equal(process.listenerCount('SIGHUP'), listenersBefore);
    assert.equal(f.reloader.reload().ok, false);
  }));

test('A18b: a serial added to the denylist file is refused from then on, and its open connections are cut', T, () =>
  withTmpDir(async (tmp) => {
    const f = await fixture(tmp, {
      prepare: (store) => {
        store.issueClient('alice');
        store.revoke([]); // an empty revoked.txt to watch
      },
      reloader: (layout) => ({ revokedFile: layout.revoked }),
    });
    try {
      // A second listener sharing the reloader holds connections open.
      const holder = await start(createTlsServer(f.reloader.serverOptions(), (sock) => sock.write('hi\n')));
      const refused: string[] = [];
      const detach = f.reloader.attach(holder.server, { harden: false, onRefused: (e) => refused.push(`${e.when}:${e.serial}`) });
      const accepted = new Promise((r) => holder.server.once('secureConnection', r));
      const sock = tlsConnect({ ...f.as('alice'), host: '127.0.0.1', port: holder.port });
      sock.on('error', () => {});
      sock.on('data', () => {}); // flowing, so the server's close is seen
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      await accepted;

      const alice = f.store.layout.client('alice');
      assert.equal(identityOf(await attempt(f.server.port, f.as('alice'))).kind, 'client');
      const reloaded = f.until(changed);
      f.store.revoke([readSerial(alice.cert)]);
      await reloaded;
      await closed; // cut without a new handshake
      assert.deepEqual(refused, [`reload:${readSerial(alice.cert)}`]);
      assert.equal((await attempt(f.server.port, f.as('alice'))).reply, undefined);
      assert.equal(identityOf(await attempt(f.server.port, f.as('root'))).kind, 'client');
      detach();
      await holder.close();
    } finally {
      await f.close();
    }
  }));

test('A18b: a CRL reloaded from disk makes OpenSSL refuse the certificate at the handshake', T, () =>
  withTmpDir(async (tmp) => {
    const f = await fixture(tmp, {
      prepare: (store) => {
        store.issueClient('bob');
        store.revoke([]);
      },
    });
    await f.close();
    const crlFile = f.store.layout.clientCa.crl;
    // Same files, this time with the CRL and without the denylist: only OpenSSL can refuse bob.
    const m = f.init.members[0]!;
    const reloader = new TlsReloader({ certFile: m.server.cert, keyFile: m.server.key, caFile: f.init.clientCa.cert, crlFile, debounceMs: 20 });
    const s = await listen(reloader.serverOptions(), { expect: 'client', issuers: () => reloader.cas });
    const detach = reloader.attach(s.server, { harden: false }); // listen() hardened it
    try {
      assert.equal(identityOf(await attempt(s.port, f.as('bob'))).kind, 'client');
      const reloaded = new Promise<void>((resolve) => {
        const off = reloader.onReload((o) => {
          if (o.ok && o.changed) {
            off();
            resolve();
          }
        });
      });
      f.store.revoke([readSerial(f.store.layout.client('bob').cert)]);
      await reloaded;
      assert.equal((await attempt(s.port, f.as('bob'))).reply, undefined);
      assert.deepEqual(await failures(s), ['CERT_REVOKED']);
      assert.equal(identityOf(await attempt(s.port, f.as('root'))).kind, 'client');
    } finally {
      detach();
      await reloader.close();
      await s.close();
    }
  }));

test('the CA list handed to identity checks keeps its identity across a certificate-only reload, and changes with the CA file', T, () =>
  withTmpDir(async (tmp) => {
    const f = await fixture(tmp);
    try {
      const cas = f.reloader.cas;
      let reloaded = f.until(changed);
      f.store.rotate('m1');
      await reloaded;
      assert.equal(f.reloader.cas, cas);
      reloaded = f.until(changed);
      const bundle = `${readFileSync(f.init.clientCa.cert, 'utf8')}${readFileSync(f.init.peerCa.cert, 'utf8')}`;
      writeFileAtomic(f.init.clientCa.cert, bundle, { overwrite: true });
      await reloaded;
      assert.notEqual(f.reloader.cas, cas);
      assert.equal(f.reloader.cas.length, 2);
    } finally {
      await f.close();
    }
  }));

test('outgoing connections pick up a rotated peer certificate from clientOptions()', T, () =>
  withTmpDir(async (tmp) => {
    const { store, init } = writeTestPki(tmp.sub('certs'), ['m1', 'm2']);
    const [m1, m2] = [init.members[0]!, init.members[1]!];
    const listener = await listen(
      new TlsReloader({ certFile: m1.peer.cert, keyFile: m1.peer.key, caFile: init.peerCa.cert, watch: false }).serverOptions(),
      { expect: 'peer', issuers: [readCert(init.peerCa.cert)] },
    );
    const dialer = new TlsReloader({ certFile: m2.peer.cert, keyFile: m2.peer.key, caFile: init.peerCa.cert, watch: false });
    try {
      const first = identityOf(await attempt(listener.port, dialer.clientOptions({ servername: 'localhost', expectedName: 'm1' })));
      assert.deepEqual(first, { kind: 'peer', memberName: 'm2', serial: m2.peer.serial });
      const r = store.rotate('m2');
      assert.equal(dialer.reload().ok, true);
      const second = identityOf(await attempt(listener.port, dialer.clientOptions({ servername: 'localhost', expectedName: 'm1' })));
      assert.deepEqual(second, { kind: 'peer', memberName: 'm2', serial: r.peer.serial });
    } finally {
      await dialer.close();
      await listener.close();
    }
  }));

const readCert = (file: string): X509Certificate => new X509Certificate(readFileSync(file));
const readSerial = (file: string): string => normalizeSerial(readCert(file).serialNumber);

test('D9: attach() hardens the listener: a stalled handshake is dropped and reported', T, () =>
  withTmpDir(async (tmp) => {
    const { init } = writeTestPki(tmp.sub('certs'));
    const m = init.members[0]!;
    const reloader = new TlsReloader({ certFile: m.server.cert, keyFile: m.server.key, caFile: init.clientCa.cert, watch: false });
    const s = await start(createTlsServer(reloader.serverOptions({ handshakeTimeoutMs: 100 })), { harden: false });
    const seen: string[] = [];
    const detach = reloader.attach(s.server, { onHandshakeFailure: (f) => seen.push(f.code) });
    try {
      const sock = netConnect({ host: '127.0.0.1', port: s.port });
      sock.on('error', () => {});
      await new Promise<void>((r) => sock.once('close', () => r()));
      assert.deepEqual(seen, ['ERR_TLS_HANDSHAKE_TIMEOUT']);
    } finally {
      detach();
      await reloader.close();
      await s.close();
    }
  }));
