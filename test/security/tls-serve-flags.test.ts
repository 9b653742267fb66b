// `keyward serve` TLS flags on real processes (issue 5, part B1): refusing plaintext without
// --insecure (A19), clear errors for unusable TLS files before anything is created, explicit
// etcd flags instead of the generated certs dir, and what --insecure still says.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { certLayout } from '../../src/tls/index.js';
import { writeTestPki } from '../harness/certs.js';
import { call } from '../harness/cluster.js';
import { runKeyward, startMemberProcess } from '../harness/process.js';
import { callTls } from '../harness/tls-client.js';
import { makeTmpDir } from '../harness/tmpdir.js';

const dir = makeTmpDir('keyward-tls-flags-');
after(() => dir.cleanup());

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** `keyward serve` that must fail at start: its exit code and stderr; the data dir must not appear. */
async function refusedStart(name: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const dataDir = dir.sub(`data-${name}`);
  const r = await runKeyward(['serve', '--data-dir', dataDir, '--certs-dir', dir.sub(`certs-${name}`), '--listen-peer-urls', 'https://127.0.0.1:0', ...args]);
  assert.equal(existsSync(dataDir), false, `${name}: the data dir was not created`);
  return { code: r.code, stderr: r.stderr };
}

test('A19: an http:// client or peer URL without --insecure is refused at start: exit 2, naming the URL and --insecure', async () => {
  for (const flag of ['--listen-client-urls', '--advertise-client-urls', '--listen-peer-urls', '--initial-advertise-peer-urls']) {
    const r = await refusedStart(`http${flag}`, [flag, 'http://127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `keyward: invalid configuration: ${flag}: "http://127.0.0.1:0" is plaintext; use https:// (the default), or pass --insecure to allow plaintext\n`);
  }
  // An explicit --insecure=false (etcd's boolean syntax) is the same as leaving it out.
  const off = await refusedStart('insecure-false', ['--listen-client-urls', 'http://127.0.0.1:0', '--insecure=false']);
  assert.equal(off.code, 2);
  assert.match(off.stderr, /--listen-client-urls: "http:\/\/127\.0\.0\.1:0" is plaintext/);
});

test('unusable TLS files are a clear error before anything is created: exit 2 naming the flags', async () => {
  const { init } = writeTestPki(dir.sub('pki'), ['m1']);
  const server = init.members[0]!.server;
  const peer = init.members[0]!.peer;
  const peerFlags = ['--peer-cert-file', peer.cert, '--peer-key-file', peer.key, '--peer-trusted-ca-file', init.peerCa.cert];
  const tlsFlags = (cert: string, key: string, ca: string): string[] => ['--name', 'm1', '--cert-file', cert, '--key-file', key, '--trusted-ca-file', ca, ...peerFlags, '--listen-client-urls', 'https://127.0.0.1:0', '--advertise-client-urls', 'https://127.0.0.1:0'];

  const missingKey = await refusedStart('missing-key', tlsFlags(server.cert, dir.sub('nope.key'), init.clientCa.cert));
  assert.equal(missingKey.code, 2);
  assert.equal(
    missingKey.stderr,
    `keyward: invalid configuration: client port TLS (--cert-file ${server.cert}, --key-file ${dir.sub('nope.key')}, --trusted-ca-file ${init.clientCa.cert}): ${dir.sub('nope.key')} does not exist\n`,
  );

  // A key others can read is refused whenever it is read (GUARANTEES A22).
  const looseKey = dir.sub('loose.key');
  writeFileSync(looseKey, '');
  chmodSync(looseKey, 0o644);
  const loose = await refusedStart('loose-key', tlsFlags(server.cert, looseKey, init.clientCa.cert));
  assert.equal(loose.code, 2);
  assert.match(loose.stderr, /^keyward: invalid configuration: client port TLS \(--cert-file .*\): .*loose\.key.*(readable|mode|permission)/i);

  // A certificate file that holds no certificate.
  const garbage = dir.sub('garbage.crt');
  writeFileSync(garbage, 'not a certificate\n');
  const bad = await refusedStart('garbage-cert', tlsFlags(garbage, server.key, init.clientCa.cert));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /client port TLS \(--cert-file .*garbage\.crt.*\): the certificate file holds no certificate\n$/);

  // The key of another certificate.
  const mismatch = await refusedStart('mismatch', tlsFlags(server.cert, init.admin.key, init.clientCa.cert));
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stderr, /the private key does not belong to the certificate\n$/);

  const half = await refusedStart('half', ['--cert-file', server.cert]);
  assert.equal(half.code, 2);
  assert.equal(half.stderr, 'keyward: invalid configuration: --cert-file and --key-file must be given together\n');

  const tokenKey = await refusedStart('token-key', [...tlsFlags(server.cert, server.key, init.clientCa.cert), '--auth-token-key-file', dir.sub('missing-token.key')]);
  assert.equal(tokenKey.code, 2);
  assert.match(tokenKey.stderr, /--auth-token-key-file .*missing-token\.key: no such file/);
});

test('explicit --cert-file/--key-file/--trusted-ca-file are used as given, and no certificate authority is generated beside them', async () => {
  const { init } = writeTestPki(dir.sub('pki-explicit'), ['m1']);
  const m1 = init.members[0]!;
  const unused = dir.sub('certs-unused');
  const explicit = ['--name', 'm1', '--cert-file', m1.server.cert, '--key-file', m1.server.key, '--trusted-ca-file', init.clientCa.cert];
  const explicitPeer = ['--peer-cert-file', m1.peer.cert, '--peer-key-file', m1.peer.key, '--peer-trusted-ca-file', init.peerCa.cert];
  const m = await startMemberProcess(dir.sub('data-explicit'), [...explicit, ...explicitPeer], {}, { secure: { certsDir: unused } });
  const root = { ca: init.clientCa.cert, cert: init.admin.cert, key: init.admin.key };
  const put = await callTls(m.url, '/v3/kv/put', { key: b64('explicit'), value: b64('1') }, root);
  assert.equal(put.status, 200, put.text);
  // Only the token signing key lives in the certs dir; no CA, no member certificates.
  const l = certLayout(unused);
  assert.equal(existsSync(l.clientCa.cert), false);
  assert.equal(existsSync(l.member('m1').dir), false);
  assert.equal(existsSync(`${unused}/auth/token.key`), true);
  m.child.kill('SIGTERM');
  assert.deepEqual(await m.exited, { code: 0, signal: null });
});

test('--insecure: one warning per plaintext listener, auth starts disabled (etcd), and nothing is generated', async () => {
  const certs = dir.sub('certs-insecure');
  const m = await startMemberProcess(dir.sub('data-insecure'), ['--certs-dir', certs]);
  const warnings = m.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['level'] === 40);
  const plaintext = warnings.filter((e) => /^plaintext (client|peer) listener/.test(String(e['msg'])));
  assert.deepEqual(
    plaintext.map((e) => String(e['msg']).split(':')[0]).sort(),
    ['plaintext client listener (--insecure)', 'plaintext peer listener'],
  );
  const status = await call(m.url, '/v3/auth/status', {});
  assert.equal(status.status, 200);
  assert.equal(status.json['enabled'], undefined, 'disabled (etcd leaves false out of the JSON)');
  assert.equal(existsSync(certs), false, 'no certs dir with --insecure and plaintext URLs');
  m.child.kill('SIGTERM');
  assert.deepEqual(await m.exited, { code: 0, signal: null });
});
