import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuthClient, clientTlsFromFiles } from '../../src/client/index.js';
import { resolveConnection } from '../../src/cli/connection.js';
import { UsageError } from '../../src/cli/kv-commands.js';
import { testPki } from '../harness/certs.js';
import { CLI } from '../harness/process.js';
import { startSecureMember, type SecureMember } from '../client/secure-member.js';

// The CLI's etcdctl TLS flags (--cacert, --cert, --key, --insecure-skip-tls-verify,
// --insecure-transport, --user) and the --certs-dir default, against a real secure member
// (mutual TLS, auth on, root bound to its certificate) in this process; the CLI runs as a real
// process, in a working directory of the test's choosing (the default --certs-dir is ./certs).

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
let work: string;
let m: SecureMember;

function keyward(args: string[], opts: { cwd?: string; stdin?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env['KEYWARD_ENDPOINTS'];
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: opts.cwd ?? work, stdio: ['pipe', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(opts.stdin ?? '');
  return new Promise((r) => child.once('exit', (code) => r({ code, stdout, stderr })));
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'keyward-cli-tls-'));
  // The member's certificates live in <work>/certs, as `keyward serve` run in <work> makes them.
  m = await startSecureMember({ certsDir: join(work, 'certs') });
  const l = m.store.layout;
  const admin = new AuthClient({ endpoints: [m.url], tls: clientTlsFromFiles({ caFile: l.clientCa.cert, certFile: l.client('root').cert, keyFile: l.client('root').key }) });
  await admin.userAdd('alice', 'alice-password');
  await admin.roleAdd('a');
  await admin.roleGrantPermission('a', { permType: 'READWRITE', key: 'a/', rangeEnd: 'a0' });
  await admin.userGrantRole('alice', 'a');
  m.store.issueClient('alice');
});

after(async () => {
  await m.dispose();
  rmSync(work, { recursive: true, force: true });
});

test('put/get with --cacert/--cert/--key (alice\'s certificate: her permissions apply)', async () => {
  const l = m.store.layout;
  const flags = ['--endpoints', m.url, '--cacert', l.clientCa.cert, '--cert', l.client('alice').cert, '--key', l.client('alice').key];
  const put = await keyward([...flags, 'put', 'a/1', 'one'], { cwd: tmpdir() });
  assert.deepEqual([put.code, put.stdout, put.stderr], [0, 'OK\n', '']);
  const get = await keyward([...flags, 'get', 'a/1'], { cwd: tmpdir() });
  assert.deepEqual([get.code, get.stdout], [0, 'a/1\none\n']);
  const denied = await keyward([...flags, 'put', 'b/1', 'x'], { cwd: tmpdir() });
  assert.deepEqual([denied.code, denied.stderr], [1, 'Error: etcdserver: permission denied\n']);
});

test('the --certs-dir default: in the directory where serve made certs/, `keyward put` needs no flags (root\'s certificate)', async () => {
  const port = new URL(m.url).port;
  // The default endpoint is https://127.0.0.1:2379; only the port differs here. A scheme-less
  // endpoint is https (etcdctl with TLS), and 127.0.0.1 is in the member certificate.
  const put = await keyward(['--endpoints', `127.0.0.1:${port}`, 'put', 'root/k', 'v'], { cwd: work });
  assert.deepEqual([put.code, put.stdout, put.stderr], [0, 'OK\n', '']);
  const get = await keyward(['--endpoints', m.url, 'get', 'root/k', '--print-value-only'], { cwd: work });
  assert.deepEqual([get.code, get.stdout], [0, 'v\n']);
  // Admin-only calls work too: the identity is root.
  const list = await keyward(['--endpoints', m.url, 'member', 'list'], { cwd: work });
  assert.equal(list.code, 0, list.stderr);
  // --certs-dir pointing elsewhere.
  const other = await keyward(['--endpoints', m.url, '--certs-dir', join(work, 'certs'), 'get', 'root/k', '--print-value-only'], { cwd: tmpdir() });
  assert.deepEqual([other.code, other.stdout], [0, 'v\n']);
});

test('--user with TLS: the token names alice on a connection with root\'s certificate', async () => {
  const ok = await keyward(['--endpoints', m.url, '--user', 'alice:alice-password', 'put', 'a/2', 'two'], { cwd: work });
  assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, 'OK\n', '']);
  const denied = await keyward(['--endpoints', m.url, '--user', 'alice', 'put', 'root/x', 'y'], { cwd: work, stdin: 'alice-password\n' });
  assert.deepEqual([denied.code, denied.stderr], [1, 'Error: etcdserver: permission denied\n']);
  const wrong = await keyward(['--endpoints', m.url, '--user', 'alice:nope-nope', 'get', 'a/2'], { cwd: work });
  assert.deepEqual([wrong.code, wrong.stderr], [1, 'Error: etcdserver: authentication failed, invalid user ID or password\n']);
});

test('a CA that did not sign the member: exit 1 with the TLS reason and where trust came from', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-stranger-'));
  try {
    const ca = join(dir, 'stranger.crt');
    writeFileSync(ca, testPki().strangerCa.certPem);
    const l = m.store.layout;
    const r = await keyward(['--endpoints', m.url, '--cacert', ca, '--cert', l.client('root').cert, '--key', l.client('root').key, 'get', 'x'], { cwd: tmpdir() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: no endpoint answered \/v3\/kv\/range: https:\/\/localhost:\d+: TLS: the server certificate was not accepted: .+\n\(trusting: flags\)\n$/);
    // No certs dir and no flags: the system CAs, which do not know the member's CA.
    const sys = await keyward(['--endpoints', m.url, 'get', 'x'], { cwd: dir });
    assert.equal(sys.code, 1);
    assert.match(sys.stderr, /TLS: the server certificate was not accepted/);
    assert.match(sys.stderr, /\(trusting: system CAs \(no --cacert, and no certs\/ca\/client-ca\.crt\)\)\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--insecure-skip-tls-verify: refused with --user (exit 2); alone it warns loudly and works with a client certificate', async () => {
  const refused = await keyward(['--endpoints', m.url, '--insecure-skip-tls-verify', '--user', 'alice:alice-password', 'get', 'a/1'], { cwd: work });
  assert.deepEqual([refused.code, refused.stderr], [2, 'keyward: --insecure-skip-tls-verify cannot be used with --user: the password would go to a server whose certificate is not checked\n']);
  const dir = mkdtempSync(join(tmpdir(), 'keyward-skip-'));
  try {
    const l = m.store.layout;
    const r = await keyward(['--endpoints', m.url, '--insecure-skip-tls-verify', '--cert', l.client('root').cert, '--key', l.client('root').key, 'get', 'root/k', '--print-value-only'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'v\n');
    assert.match(r.stderr, /WARNING: --insecure-skip-tls-verify: the server's certificate is not checked/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flag errors: --cert without --key and a bad scheme exit 2; a missing file exits 1', async () => {
  const l = m.store.layout;
  const half = await keyward(['--endpoints', m.url, '--cert', l.client('root').cert, 'get', 'x']);
  assert.deepEqual([half.code, half.stderr], [2, 'keyward: --cert and --key must be given together\n']);
  const scheme = await keyward(['--endpoints', 'ftp://127.0.0.1:1', 'get', 'x']);
  assert.deepEqual([scheme.code, scheme.stderr], [2, 'keyward: --endpoints: ftp://127.0.0.1:1 must be http:// or https://\n']);
  const missing = await keyward(['--endpoints', m.url, '--cacert', join(work, 'nope.crt'), 'get', 'x']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^keyward: --cacert: cannot read .*nope\.crt \(ENOENT\)\n$/);
});

test('endpoint resolution: https by default, scheme-less endpoints follow --insecure-transport as etcdctl', () => {
  const warn: string[] = [];
  const w = (s: string): number => warn.push(s);
  const none = join(tmpdir(), 'keyward-no-certs-here');
  assert.deepEqual(resolveConnection({ certsDir: none, login: false }, w).endpoints, ['https://127.0.0.1:2379']);
  assert.deepEqual(resolveConnection({ certsDir: none, login: false, insecureTransport: true }, w).endpoints, ['http://127.0.0.1:2379']);
  assert.deepEqual(resolveConnection({ endpoints: 'a:1, https://b:2,http://c:3', certsDir: none, login: false }, w).endpoints, ['https://a:1', 'https://b:2', 'http://c:3']);
  assert.deepEqual(resolveConnection({ endpoints: 'a:1', certsDir: none, login: false, insecureTransport: true }, w).endpoints, ['http://a:1']);
  assert.equal(warn.length, 0);
  // Plaintext and a password: sent, with a warning.
  const plain = resolveConnection({ endpoints: 'http://c:3', certsDir: none, login: true }, w);
  assert.equal(plain.tls, undefined);
  assert.deepEqual(warn, ['keyward: WARNING: the password and token go over plaintext to http://c:3\n']);
  assert.throws(() => resolveConnection({ endpoints: ' , ', certsDir: none, login: false }, w), UsageError);
});
