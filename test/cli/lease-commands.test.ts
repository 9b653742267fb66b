import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LeaseClient } from '../../src/client/index.js';
import { UsageError, type Output } from '../../src/cli/kv-commands.js';
import {
  leaseHex,
  leaseHex16,
  parseLeaseId,
  parseTtl,
  runLeaseGrant,
  runLeaseKeepAlive,
  runLeaseList,
  runLeaseRevoke,
  runLeaseTimeToLive,
} from '../../src/cli/lease-commands.js';
import { keywardArgs, runKeyward } from '../harness/process.js';
import { startWatchMember, type WatchMember } from '../watch/api-client.js';

// `keyward lease …` prints what etcdctl 3.4 prints (observed), against a real member.

let m: WatchMember;
let c: LeaseClient;
before(async () => {
  m = await startWatchMember();
  c = new LeaseClient({ endpoints: [m.url], timeoutMs: 3000 });
});
after(async () => {
  await m.dispose();
});

function capture(format: Output['format'] = 'simple'): Output & { text: () => string } {
  let text = '';
  return { format, write: (s) => void (text += s), text: () => text };
}

test('lease IDs are hexadecimal as etcdctl takes and prints them; negative IDs as 64-bit two\'s complement', () => {
  assert.equal(parseLeaseId('694d77aa9e38260f'), 0x694d77aa9e38260fn);
  assert.equal(parseLeaseId('fffffffffffffffb'), -5n);
  assert.equal(leaseHex16(0x1234n), '0000000000001234');
  assert.equal(leaseHex16(-5n), 'fffffffffffffffb');
  assert.equal(leaseHex(0x31e4a201c8e6d42fn), '31e4a201c8e6d42f');
  for (const bad of ['zz', '', '0x12', '12345678901234567', '-5']) assert.throws(() => parseLeaseId(bad), UsageError, bad);
  assert.equal(parseTtl('-5'), -5n);
  assert.throws(() => parseTtl('abc'), UsageError);
  assert.throws(() => parseTtl('1.5'), UsageError);
});

test('grant, timetolive (with --keys), list, keep-alive --once and revoke print etcdctl\'s lines', async () => {
  const out = capture();
  await runLeaseGrant(c, out, '100');
  const m1 = /^lease ([0-9a-f]{16}) granted with TTL\(100s\)\n$/.exec(out.text());
  assert.ok(m1, out.text());
  const hex = m1[1]!;
  await fetch(m.url + '/v3/kv/put', { method: 'POST', body: JSON.stringify({ key: btoa('k1'), value: btoa('v'), lease: BigInt('0x' + hex).toString() }) });
  await fetch(m.url + '/v3/kv/put', { method: 'POST', body: JSON.stringify({ key: btoa('k2'), value: btoa('v'), lease: BigInt('0x' + hex).toString() }) });
  const t = capture();
  await runLeaseTimeToLive(c, t, hex, {});
  assert.match(t.text(), new RegExp(`^lease ${hex} granted with TTL\\(100s\\), remaining\\((99|100)s\\)\\n$`));
  const tk = capture();
  await runLeaseTimeToLive(c, tk, hex, { keys: true });
  assert.match(tk.text(), new RegExp(`^lease ${hex} granted with TTL\\(100s\\), remaining\\((99|100)s\\), attached keys\\(\\[k1 k2\\]\\)\\n$`));
  const gone = capture();
  await runLeaseTimeToLive(c, gone, '1234', {});
  assert.equal(gone.text(), 'lease 0000000000001234 already expired\n');
  const l = capture();
  await runLeaseList(c, l);
  assert.equal(l.text(), `found 1 leases\n${hex.replace(/^0+/, '')}\n`);
  const k = capture();
  await runLeaseKeepAlive(c, k, hex, { once: true });
  assert.equal(k.text(), `lease ${hex} keepalived with TTL(100)\n`);
  await assert.rejects(runLeaseKeepAlive(c, capture(), '1234', { once: true }), /etcdserver: requested lease not found/);
  const r = capture();
  await runLeaseRevoke(c, r, hex);
  assert.equal(r.text(), `lease ${hex} revoked\n`);
  await assert.rejects(runLeaseRevoke(c, capture(), hex), /etcdserver: requested lease not found/);
});

test('-w json prints the API\'s JSON (IDs as decimal strings)', async () => {
  const out = capture('json');
  await runLeaseGrant(c, out, '0');
  const g = JSON.parse(out.text()) as { ID: string; TTL: string; header: object };
  assert.equal(g.TTL, '2', 'raised to the minimum');
  assert.match(g.ID, /^[0-9]+$/);
  const t = capture('json');
  await runLeaseTimeToLive(c, t, BigInt(g.ID).toString(16), {});
  assert.equal((JSON.parse(t.text()) as { grantedTTL: string }).grantedTTL, '2');
});

test('keep-alive renews until the lease is revoked, then prints "expired or revoked." and ends', { timeout: 20_000 }, async () => {
  const g = await c.grant(3, 0x77n);
  const out = capture();
  const run = runLeaseKeepAlive(c, out, '77', {});
  await new Promise((r) => setTimeout(r, 1500));
  await c.revoke(g.id);
  await run;
  const lines = out.text().trim().split('\n');
  assert.ok(lines.length >= 2, out.text());
  for (const line of lines.slice(0, -1)) assert.equal(line, 'lease 0000000000000077 keepalived with TTL(3)');
  assert.equal(lines.at(-1), 'lease 0000000000000077 expired or revoked.');
});

test('the real command: keyward lease grant / put --lease / timetolive --keys / keep-alive until SIGINT', { timeout: 60_000 }, async () => {
  const ep = ['--endpoints', m.url];
  const grant = await runKeyward([...ep, 'lease', 'grant', '60']);
  assert.equal(grant.code, 0, grant.stderr);
  const hex = /^lease ([0-9a-f]{16}) granted with TTL\(60s\)$/.exec(grant.stdout.trim())?.[1];
  assert.ok(hex, grant.stdout);
  const put = await runKeyward([...ep, 'put', '--lease', hex, 'cli/k', 'v']);
  assert.equal(put.stdout, 'OK\n', put.stderr);
  const ttl = await runKeyward([...ep, 'lease', 'timetolive', hex, '--keys']);
  const remaining = new RegExp(`^lease ${hex} granted with TTL\\(60s\\), remaining\\((\\d+)s\\), attached keys\\(\\[cli/k\\]\\)\\n$`).exec(ttl.stdout);
  assert.ok(remaining !== null && Number(remaining[1]) > 45 && Number(remaining[1]) <= 60, ttl.stdout);
  const bad = await runKeyward([...ep, 'lease', 'revoke', 'zz']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad lease ID arg \("zz"\), expecting ID in Hex/);
  const missing = await runKeyward([...ep, 'put', '--lease', '1234', 'cli/x', 'v']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error: etcdserver: requested lease not found\n');
  // keep-alive runs until interrupted and exits 0.
  const child = spawn(process.execPath, keywardArgs([...ep, 'lease', 'keep-alive', hex]), { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((r) => lines.once('line', r));
  assert.equal(first, `lease ${hex} keepalived with TTL(60)`);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
});
