import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneMemberCli, until } from '../harness/cli-run.js';

// `keyward lock` (etcdctl lock) against a real member: hold-until-interrupted prints the key, a
// second locker waits for it, a command runs while the lock is held with its key and fencing
// revision in the environment, its exit status is the CLI's, and nothing is left behind.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const cli = oneMemberCli('lock');
const runLock = cli.run;

test('L14 keyward lock: holds until SIGINT (printing the key); a second one waits, then runs its command with ETCD_LOCK_KEY/REV and exits with its status', { timeout: 60_000 }, async () => {
  const first = runLock(['cli-lock']);
  await until(() => first.stdout().length > 0, 'the first lock');
  const heldKey = first.stdout().trim();
  assert.match(heldKey, /^cli-lock\/[0-9a-f]+$/);
  const heldRev = (await cli.kv().range({ key: enc(heldKey) })).kvs[0]!.createRevision;
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
  const left = await cli.kv().range({ key: enc('cli-lock/'), rangeEnd: enc('cli-lock0') });
  assert.equal(left.kvs.length, 0, 'both locks were released');
});

test('keyward lock refuses a bad --ttl (exit 2) and an interrupt while waiting withdraws the request', { timeout: 60_000 }, async () => {
  const bad = runLock(['x', '--ttl', '0']);
  assert.equal(await bad.exit, 2);
  assert.match(bad.stderr(), /--ttl must be a positive integer/);
  const holder = runLock(['wait-lock']);
  await until(() => holder.stdout().length > 0, 'the holder');
  const waiter = runLock(['wait-lock']);
  const queued = async (): Promise<number> => (await cli.kv().range({ key: enc('wait-lock/'), rangeEnd: enc('wait-lock0') })).kvs.length;
  for (let i = 0; i < 200 && (await queued()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await queued(), 2, 'the waiter queued its key');
  waiter.child.kill('SIGINT');
  assert.equal(await waiter.exit, 130);
  const left = await cli.kv().range({ key: enc('wait-lock/'), rangeEnd: enc('wait-lock0') });
  assert.deepEqual(left.kvs.map((k) => new TextDecoder().decode(k.key)), [holder.stdout().trim()]);
  holder.child.kill('SIGINT');
  assert.equal(await holder.exit, 0);
});
