import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLog, RaftNode, type Applier, type QueuedWrite, type Ticker } from '../../src/cluster/index.js';
import type { Entry, Message } from '../../src/raft/index.js';

// The driver's pipelined persistence (RaftNode `pipelined`), against a write queue the test
// controls: a write's callback runs, then becomes visible, then durable, each only when the test
// says so — as lmdb-js's write worker does with a real disk. The rules checked: nothing counts as
// committed before the leader's own write is durable; a non-leader's messages wait for its write;
// the applier finishes an entry only once the transaction that staged it is visible.

interface Pending {
  run: () => void;
  commit: () => void;
  flush: () => void;
}

class ManualQueue {
  readonly pending: Pending[] = [];
  enqueue = (fn: () => void): QueuedWrite => {
    let commit!: () => void;
    let flush!: () => void;
    const committed = new Promise<void>((r) => (commit = r));
    const flushed = new Promise<void>((r) => (flush = r));
    this.pending.push({ run: fn, commit, flush });
    return { committed, flushed };
  };
  /** Runs, commits and flushes the oldest queued write, in that order, letting promises settle. */
  async land(steps: 'run' | 'commit' | 'all' = 'all'): Promise<void> {
    const w = this.pending[0]!;
    w.run();
    if (steps === 'run') return;
    w.commit();
    await settle();
    if (steps === 'commit') return;
    this.pending.shift();
    w.flush();
    await settle();
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

let tickFns: Array<() => void> = [];
const manualTicker: Ticker = {
  every: (_ms, fn) => {
    tickFns.push(fn);
    return () => undefined;
  },
};
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function node(id: bigint, voters: bigint[], queue: ManualQueue, sent: Message[], log: string[], learners: bigint[] = [], applier?: Applier): RaftNode {
  return new RaftNode({
    id,
    log: new MemoryLog({ voters, learners }),
    sink: { send: (ms) => sent.push(...ms) },
    applier: applier ?? {
      restore: () => Promise.resolve(),
      apply: () => Promise.reject(new Error('this test pipelines every Ready')),
      stage: (entries: readonly Entry[]) => {
        const data = entries.filter((e) => e.data.length > 0).map((e) => new TextDecoder().decode(e.data));
        log.push(...data.map((d) => `staged ${d}`));
        return () => {
          log.push(...data.map((d) => `finished ${d}`));
          return Promise.resolve();
        };
      },
    },
    pipelined: queue.enqueue,
    tickMs: 10,
    electionTicks: 10,
    heartbeatTicks: 1,
    ticker: manualTicker,
    onFatal: (err) => {
      throw err;
    },
  });
}

test('L1 a lone voter (with a learner) commits a proposal only once its own write is durable, and finishes it once the staging write is visible', async () => {
  const q = new ManualQueue();
  const log: string[] = [];
  // The learner makes it pipeline (a member without peers takes the synchronous path); it does
  // not count toward commit, so the voter commits on its own durable copy alone.
  const n = node(1n, [1n], q, [], log, [9n]);
  tickFns = [];
  await n.start();
  // Election timeout: it campaigns, and each step of becoming leader is a write of its own.
  for (let i = 0; i < 30 && !n.isLeader; i++) {
    for (const f of tickFns) f();
    await settle();
    while (q.pending.length > 0) await q.land();
  }
  while (q.pending.length > 0) await q.land();
  assert.ok(n.isLeader);
  const base = n.status().lastIndex;
  assert.equal(n.status().commit, base);
  n.propose(enc('a'));
  await settle();
  assert.equal(q.pending.length, 1, "the proposal's log write is queued");
  n.propose(enc('b'));
  await settle();
  assert.equal(q.pending.length, 2, 'a second Ready went out while the first write is in flight');
  assert.equal(n.status().lastIndex, base + 2);
  await q.land('commit');
  assert.equal(n.status().commit, base, 'visible is not durable: nothing new commits');
  q.pending.shift()!.flush();
  await settle();
  assert.equal(n.status().commit, base + 1, "a's write is durable: a commits, b (still in flight) does not");
  assert.deepEqual(log, []);
  // Queue now: b's log write, then the write that stages a.
  assert.equal(q.pending.length, 2);
  await q.land();
  assert.equal(n.status().commit, base + 2);
  await q.land('run');
  assert.deepEqual(log, ['staged a'], 'staged inside its write');
  await settle();
  assert.deepEqual(log, ['staged a'], 'not finished while that write is invisible');
  q.pending[0]!.commit();
  await settle();
  assert.deepEqual(log, ['staged a', 'finished a']);
  q.pending.shift()!.flush();
  await settle();
  while (q.pending.length > 0) await q.land();
  assert.deepEqual(log, ['staged a', 'finished a', 'staged b', 'finished b']);
  await n.close();
});

test('a member without peers takes the synchronous path: nothing is queued, a proposal commits and finishes', async () => {
  const q = new ManualQueue();
  const finished: string[] = [];
  const n = node(1n, [1n], q, [], [], [], {
    restore: () => Promise.resolve(),
    apply: (entries) => {
      for (const e of entries) if (e.data.length > 0) finished.push(new TextDecoder().decode(e.data));
      return Promise.resolve();
    },
    stage: () => {
      throw new Error('a member alone must not pipeline');
    },
  });
  tickFns = [];
  await n.start();
  for (let i = 0; i < 30 && !n.isLeader; i++) {
    for (const f of tickFns) f();
    await settle();
  }
  assert.ok(n.isLeader);
  n.propose(enc('solo'));
  for (let i = 0; i < 30 && finished.length === 0; i++) await settle();
  assert.deepEqual(finished, ['solo']);
  assert.equal(q.pending.length, 0);
  await n.close();
});

/** Follower 2 of three, running; leader 1 has appended entry 1, whose write is queued, not landed. */
async function followerWithWriteInFlight(): Promise<{ q: ManualQueue; sent: Message[]; n: RaftNode }> {
  const q = new ManualQueue();
  const sent: Message[] = [];
  const n = node(2n, [1n, 2n, 3n], q, sent, []);
  tickFns = [];
  await n.start();
  n.step(appendOfEntry1);
  await settle();
  assert.equal(q.pending.length, 1);
  return { q, sent, n };
}

const appendOfEntry1: Message = { type: 'app', from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, entries: [{ index: 1, term: 1, type: 'normal', data: enc('x') }], commit: 0 };

test('L1 a follower acknowledges appended entries only after its write is durable', async () => {
  const { q, sent, n } = await followerWithWriteInFlight();
  // The same append again (a leader retry): raft answers from its in-memory log.
  n.step(appendOfEntry1);
  await settle();
  await q.land('commit');
  assert.deepEqual(sent.filter((m) => m.type === 'appResp'), [], 'no acknowledgement while the entry is not durable');
  q.pending.shift()!.flush();
  await settle();
  while (q.pending.length > 0) await q.land();
  const acks = sent.flatMap((m) => (m.type === 'appResp' && !m.reject ? [m.index] : []));
  assert.ok(acks.length >= 1);
  assert.ok(acks.every((i) => i === 1));
  await n.close();
});

test('L1 a follower forwards a proposal at once, while its write is in flight; its acknowledgement still waits for durability', async () => {
  const { q, sent, n } = await followerWithWriteInFlight();
  n.propose(enc('p'));
  await settle();
  const props = sent.filter((m) => m.type === 'prop');
  assert.equal(props.length, 1, 'the proposal went to the leader without waiting for the write');
  assert.equal(props[0]!.to, 1n);
  assert.deepEqual(sent.filter((m) => m.type === 'appResp'), [], 'the acknowledgement did not');
  while (q.pending.length > 0) await q.land();
  assert.ok(sent.some((m) => m.type === 'appResp' && !m.reject && m.index === 1), 'acknowledged once durable');
  await n.close();
});
