import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keywardArgs, runKeyward, startMemberProcess, type MemberProcess } from '../harness/process.js';

// `keyward tenant …` and `keyward policy apply|export` as a user runs them: the real binary (from
// source) against a real `keyward serve` process. Auth is off on this member (--insecure): what is
// tested is the commands' parsing, output and exit codes, and that they reach the member.

let m: MemberProcess;
let dir: string;
const kw = (...args: string[]) => runKeyward(['--endpoints', m.url, ...args]);

/** Runs keyward with extra environment variables. */
function kwEnv(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, keywardArgs(['--endpoints', m.url, ...args]), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, stdout, stderr })));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-tenant-cli-'));
  m = await startMemberProcess(join(dir, 'data'));
});
after(async () => {
  m?.child.kill('SIGTERM');
  await m?.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('keyward tenant', () => {
  test('create, get, list, quotas, suspend, resume, delete: etcdctl-style lines', async () => {
    const c = await kw('tenant', 'create', 'acme', '--max-keys', '100', '--max-requests-per-second', '50');
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^Tenant acme created\nid: acme\nstatus: active\ncreated revision: \d+\nmax-keys: 100\nmax-bytes: unlimited\nmax-leases: unlimited\nmax-watchers: unlimited\nmax-streams: unlimited\nmax-requests-per-second: 50\nusage: 0 keys, 0 bytes, 0 leases\n$/);
    assert.equal((await kw('tenant', 'create', 'globex')).code, 0);
    const l = await kw('tenant', 'list');
    assert.equal(l.stdout, 'acme active 0 keys 0 bytes 0 leases\nglobex active 0 keys 0 bytes 0 leases\n');
    const q = await kw('tenant', 'quotas', 'acme', '--max-keys', '5', '--max-streams', '2');
    assert.match(q.stdout, /^Tenant acme quotas updated\n[^]*max-keys: 5\n[^]*max-streams: 2\nmax-requests-per-second: 50\n/);
    assert.equal((await kw('tenant', 'suspend', 'globex')).stdout, 'Tenant globex suspended\n');
    assert.match((await kw('tenant', 'get', 'globex')).stdout, /^id: globex\nstatus: suspended\n[^]*\nusage: 0 keys, 0 bytes, 0 leases\nopen on member [0-9a-f]+: 0 streams, 0 watchers\n$/);
    assert.equal((await kw('tenant', 'resume', 'globex')).stdout, 'Tenant globex resumed\n');
    await kw('put', '/t/globex/k', 'v');
    assert.equal((await kw('tenant', 'delete', 'globex')).stdout, 'Tenant globex deleted (1 keys)\n');
    assert.equal((await kw('tenant', 'list')).stdout, 'acme active 0 keys 0 bytes 0 leases\n');
  });

  test('-w json prints the API response', async () => {
    const r = await kw('-w', 'json', 'tenant', 'get', 'acme');
    const j = JSON.parse(r.stdout) as { tenant: { id: string; quotas: Record<string, string>; usage: Record<string, string> } };
    assert.equal(j.tenant.id, 'acme');
    assert.equal(j.tenant.quotas['max_keys'], '5');
    assert.deepEqual(j.tenant.usage, { keys: '0', bytes: '0', leases: '0' });
    const l = JSON.parse((await kw('-w', 'json', 'tenant', 'list')).stdout) as { tenants: unknown[] };
    assert.equal(l.tenants.length, 1);
  });

  test('usage errors exit 2 and send nothing; refusals exit 1 with the member\'s message; nothing changes', async () => {
    const before = (await kw('-w', 'json', 'tenant', 'list')).stdout;
    const neg = await kw('tenant', 'create', 'x', '--max-keys', '-1');
    assert.deepEqual([neg.code, neg.stderr], [2, 'keyward: --max-keys must be a non-negative integer (0 = unlimited), got "-1"\n']);
    const none = await kw('tenant', 'quotas', 'acme');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^keyward: tenant quotas needs at least one of --max-keys/);
    const bad = await kw('tenant', 'create', 'Bad');
    assert.deepEqual([bad.code, bad.stderr], [1, 'Error: keyward: invalid tenant id (1-63 characters of a-z, 0-9 and "-", not starting with "-")\n']);
    const dup = await kw('tenant', 'create', 'acme');
    assert.deepEqual([dup.code, dup.stderr], [1, 'Error: keyward: tenant already exists\n']);
    const missing = await kw('tenant', 'delete', 'nosuch');
    assert.deepEqual([missing.code, missing.stderr], [1, 'Error: keyward: tenant not found\n']);
    assert.equal((await kw('-w', 'json', 'tenant', 'list')).stdout.replace(/"revision":"\d+"/, ''), before.replace(/"revision":"\d+"/, ''));
  });
});

describe('keyward policy', () => {
  const env = { KEYWARD_ACME_OPS_PASSWORD: 'acme-ops-password', KEYWARD_GLOBEX_OPS_PASSWORD: 'globex-ops-password' };

  test('apply policies/: dry run changes nothing, apply creates tenants, roles and users, applying again plans nothing', async () => {
    const dry = await kwEnv(env, 'policy', 'apply', 'policies/', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^\+ tenant globex \(status active, quotas\.maxKeys 2000/m);
    assert.match(dry.stdout, /dry run: \d+ operations planned, nothing changed\n$/);
    assert.equal((await kw('tenant', 'list')).stdout, 'acme active 0 keys 0 bytes 0 leases\n');

    const apply = await kwEnv(env, 'policy', 'apply', 'policies/');
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /^\+ user acme\/ops \(password from environment variable KEYWARD_ACME_OPS_PASSWORD\)$/m);
    assert.match(apply.stdout, /applied \d+ operations\n$/);
    assert.doesNotMatch(apply.stdout + apply.stderr, /ops-password/);
    assert.match((await kw('tenant', 'get', 'globex')).stdout, /max-keys: 2000\n/);
    // The tenant's operator logs in as <tenant>/<name>.
    const login = await kw('--user', 'acme/ops:acme-ops-password', 'tenant', 'get', 'acme');
    assert.equal(login.code, 0, login.stderr);

    const again = await kwEnv(env, 'policy', 'apply', 'policies/');
    assert.match(again.stdout, /^no changes\napplied 0 operations\n$/i);
  });

  test('a missing password variable refuses the whole apply, naming the source, changing nothing', async () => {
    await kw('tenant', 'delete', 'globex');
    const r = await kwEnv({ KEYWARD_ACME_OPS_PASSWORD: 'acme-ops-password' }, 'policy', 'apply', 'policies/');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /KEYWARD_GLOBEX_OPS_PASSWORD/);
    assert.equal((await kw('tenant', 'list')).stdout, 'acme active 0 keys 0 bytes 0 leases\n');
  });

  test('export writes the live tenants, roles and users as files', async () => {
    const out = join(dir, 'export');
    const r = await kw('policy', 'export', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*tenants\/acme\.yaml\n/);
    const acme = readFileSync(join(out, 'tenants', 'acme.yaml'), 'utf8');
    assert.match(acme, /kind: Tenant\nid: acme\nstatus: active\nquotas:\n  maxKeys: 10000\n/);
    assert.match(acme, /name: ops\ntenant: acme\n/);
    const again = await kw('policy', 'export', out);
    assert.equal(again.code, 1);
  });
});
