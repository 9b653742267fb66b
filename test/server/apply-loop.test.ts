import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvStore, type WriteRequest } from '../../src/mvcc/index.js';
import { ApplyLoop } from '../../src/server/apply-loop.js';
import { putRequest, rangeRequest } from '../../src/client/index.js';

// The single-member write path on a real LMDB store. The only thing the test controls is *when*
// the store's durability signal is delivered (a held flush is a slow disk), which lets it look into
// the window between "committed and visible" and "flushed".

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const put = (k: string, v: string): WriteRequest => ({ type: 'put', put: putRequest({ key: enc(k), value: enc(v) }) });

function heldFlushes(kv: KvStore): { release(): void; pending(): number } {
  const real = kv.flushed.bind(kv);
  const held: Array<() => void> = [];
  kv.flushed = () => real().then(() => new Promise<void>((r) => held.push(r)));
  return {
    release: () => held.splice(0).forEach((r) => r()),
    pending: () => held.length,
  };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

test('L4 a committed but unflushed write is neither acknowledged nor visible to reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-loop-'));
  const kv = KvStore.open(join(dir, 'd'));
  const flushes = heldFlushes(kv);
  const loop = new ApplyLoop(kv, { onFatal: (e) => assert.fail(String(e)) });
  try {
    const first = loop.propose(put('a', '1'));
    await until(() => flushes.pending() > 0);
    flushes.release();
    assert.equal((await first).ok, true);
    const durableRev = kv.currentRevision;

    let acked = false;
    const second = loop.propose(put('a', '2')).then((r) => ((acked = true), r));
    await until(() => kv.currentRevision > durableRev && flushes.pending() > 0);
    // Committed in LMDB, not yet flushed: no acknowledgement, and reads see the durable state.
    assert.equal(acked, false);
    const during = await loop.read((view) => kv.range(rangeRequest({ key: enc('a') }), view.asOf));
    assert.equal(new TextDecoder().decode(during.kvs[0]!.value), '1');
    assert.equal(during.header.revision, durableRev);

    flushes.release();
    await second;
    const after = await loop.read((view) => kv.range(rangeRequest({ key: enc('a') }), view.asOf));
    assert.equal(new TextDecoder().decode(after.kvs[0]!.value), '2');
    assert.equal(after.header.revision, durableRev + 1);
  } finally {
    flushes.release();
    await loop.close();
    await kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batches pipeline: the next batch commits while the previous one is still flushing, and acks keep commit order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-loop-'));
  const kv = KvStore.open(join(dir, 'd'));
  const flushes = heldFlushes(kv);
  const loop = new ApplyLoop(kv, { onFatal: (e) => assert.fail(String(e)) });
  try {
    const order: number[] = [];
    const a = loop.propose(put('p', 'a')).then(() => order.push(1));
    await until(() => flushes.pending() === 1);
    const b = loop.propose(put('q', 'b')).then(() => order.push(2));
    // The second batch commits although the first is not durable yet.
    await until(() => flushes.pending() === 2);
    assert.deepEqual(order, []);
    flushes.release();
    await Promise.all([a, b]);
    assert.deepEqual(order, [1, 2]);
  } finally {
    flushes.release();
    await loop.close();
    await kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('concurrent proposals share batches and each gets its own revision', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-loop-'));
  const kv = KvStore.open(join(dir, 'd'));
  const loop = new ApplyLoop(kv, { onFatal: (e) => assert.fail(String(e)) });
  let transactions = 0;
  const apply = kv.apply.bind(kv);
  kv.apply = (entries, durability) => (transactions++, apply(entries, durability));
  try {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => loop.propose(put('k' + i, 'v'))));
    const revs = results.map((r) => (r.ok ? r.response.header.revision : -1));
    assert.equal(new Set(revs).size, 200);
    assert.equal(kv.appliedIndex, 200);
    assert.ok(transactions <= 5, `200 concurrent proposals took ${transactions} transactions`);
  } finally {
    await loop.close();
    await kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close drains accepted proposals, then refuses new ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-loop-'));
  const kv = KvStore.open(join(dir, 'd'));
  const loop = new ApplyLoop(kv, { onFatal: (e) => assert.fail(String(e)) });
  try {
    const accepted = loop.propose(put('x', '1'));
    const closed = loop.close();
    assert.equal((await accepted).ok, true);
    await closed;
    await assert.rejects(loop.propose(put('y', '1')), /stopped/);
  } finally {
    await kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
