import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { KvClient } from '../../src/client/index.js';
import { TestCluster } from '../harness/cluster.js';
import { keywardArgs } from '../harness/process.js';

// `keyward lock` (etcdctl lock) against a real member: hold-until-interrupted prints the key, a
// second locker waits for it, a command runs while the lock is held with its key and fencing
// revision in the environment, its exit status is the CLI's, and nothing is left behind.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

let cluster: TestCluster;
let url: string;
let client: KvClient;

before(async () => {
  cluster = await TestCluster.start(1);
  await cluster.leader();
  url = cluster.member(0).url;
  client = new KvClient({ endpoints: [url] });
});

after(async () => {
  await cluster.dispose();
});

function runLock(args: string[]): { stdout: () => string; stderr: () => string; child: ReturnType<typeof spawn>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, keywardArgs(['--endpoints', url, 'lock', ...args]), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { stdout: () => out, stderr: () => err, child, exit };
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('L14 keyward lock: holds until SIGINT (printing the key); a second one waits, then runs its command with ETCD_LOCK_KEY/REV and exits with its status', { timeout: 60_000 }, async () => {
  const first = runLock(['cli-lock']);
  await until(() => first.stdout().length > 0, 'the first lock');
  const heldKey = first.stdout().trim();
  assert.match(heldKey, /^cli-lock\/[0-9a-f]+$/);
  const heldRev = (await client.range({ key: enc(heldKey) })).kvs[0]!.createRevision;
  const script = 'process.stdout.write(process.env.ETCD_LOCK_KEY + " " + process.env.ETCD_LOCK_REV + " " + process.env.KEYWARD_LOCK_REV); process.exit(3)';
  const second = runLock(['cli-lock', '--', process.execPath, '-e', script]);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(second.stdout(), '', 'the second waits while the first holds the lock');
  first.child.kill('SIGINT');
  assert.equal(await first.exit, 0, first.stderr());
  assert.equal(await second.exit, 3, second.stderr());
  const [key, rev, rev2] = second.stdout().split(' ');
  assert.match(key!, /^cli-lock\/[0-9a-f]+$/);
  assert.notEqual(key, heldKey);
  assert.equal(rev, rev2);
  // The fencing revision is the key's create revision, after the first holder's.
  assert.ok(Number(rev) > heldRev, `${rev} > ${heldRev}`);
  const left = await client.range({ key: enc('cli-lock/'), rangeEnd: enc('cli-lock0') });
  assert.equal(left.kvs.length, 0, 'both locks were released');
});

test('keyward lock refuses a bad --ttl (exit 2) and an interrupt while waiting withdraws the request', { timeout: 60_000 }, async () => {
  const bad = runLock(['x', '--ttl', '0']);
  assert.equal(await bad.exit, 2);
  assert.match(bad.stderr(), /--ttl must be a positive integer/);
  const holder = runLock(['wait-lock']);
  await until(() => holder.stdout().length > 0, 'the holder');
  const waiter = runLock(['wait-lock']);
  const queued = async (): Promise<number> => (await client.range({ key: enc('wait-lock/'), rangeEnd: enc('wait-lock0') })).kvs.length;
  for (let i = 0; i < 200 && (await queued()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await queued(), 2, 'the waiter queued its key');
  waiter.child.kill('SIGINT');
  assert.equal(await waiter.exit, 130);
  const left = await client.range({ key: enc('wait-lock/'), rangeEnd: enc('wait-lock0') });
  assert.deepEqual(left.kvs.map((k) => new TextDecoder().decode(k.key)), [holder.stdout().trim()]);
  holder.child.kill('SIGINT');
  assert.equal(await holder.exit, 0);
});
