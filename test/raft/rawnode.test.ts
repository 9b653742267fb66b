// The RawNode/Ready contract, MemoryStorage, the log, and the module's purity rules.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  MemoryStorage,
  RawNode,
  RaftError,
  decodeConfChange,
  encodeConfChange,
  isRaftError,
  MESSAGE_KINDS,
} from '../../src/raft/index.js';
import type { Message } from '../../src/raft/index.js';
import { TestNode, entriesFor, ofType } from './helpers.js';

describe('Ready contract', () => {
  it('a single-node cluster leads only after the driver persisted its vote, and commits only after it persisted the entry (advance)', () => {
    const n = new TestNode({ id: 1, voters: [1] });
    n.raw.campaign();
    let rd = n.raw.ready();
    assert.equal(rd.softState?.role, 'candidate');
    assert.deepEqual(rd.hardState, { term: 1, vote: 1n, commit: 0 });
    assert.equal(rd.mustSync, true);
    n.persist(rd);
    n.raw.advance(rd);
    rd = n.raw.ready();
    assert.equal(rd.softState?.role, 'leader');
    assert.equal(rd.entries.length, 1, 'the no-op');
    assert.equal(rd.committedEntries.length, 0, 'not committed before it is durable');
    assert.equal(rd.mustSync, true);
    n.persist(rd);
    n.raw.advance(rd);
    rd = n.raw.ready();
    assert.equal(rd.hardState?.commit, 1);
    assert.deepEqual(rd.committedEntries.map((e) => e.index), [1]);
    assert.equal(rd.mustSync, false, 'a commit-only change need not be fsynced');
    n.persist(rd);
    n.raw.advance(rd);
    assert.equal(n.raw.hasReady(), false);
  });

  it('ready() twice without advance() is a TypeError; advance() needs the last Ready', () => {
    const n = new TestNode({ id: 1, voters: [1] });
    n.raw.campaign();
    const rd = n.raw.ready();
    assert.throws(() => n.raw.ready(), TypeError);
    assert.throws(() => n.raw.advance({ ...rd }), TypeError);
    n.persist(rd);
    n.raw.advance(rd);
  });

  it('a vote is handed out with the hard state that records it: both in the same Ready', () => {
    const n = new TestNode({ id: 2, voters: [1, 2, 3] });
    n.drain();
    n.raw.step({ type: 'vote', from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, transfer: false });
    const rd = n.raw.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 1n, commit: 0 });
    assert.equal(rd.mustSync, true);
    assert.deepEqual(ofType(rd.messages, 'voteResp').map((m) => m.reject), [false]);
    n.raw.advance(rd);
  });

  it('an append acknowledgement comes with the entries it acknowledges', () => {
    const n = new TestNode({ id: 2, voters: [1, 2, 3], hardState: { term: 1 } });
    n.drain();
    const ents = entriesFor([1, 1]);
    n.raw.step({ type: 'app', from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, entries: ents, commit: 1 });
    const rd = n.raw.ready();
    assert.deepEqual(rd.entries.map((e) => e.index), [1, 2]);
    assert.deepEqual(ofType(rd.messages, 'appResp').map((m) => m.index), [2]);
    assert.deepEqual(rd.committedEntries.map((e) => e.index), [1], 'committed up to the leader commit');
    n.raw.advance(rd);
  });

  it('step() refuses local messages and responses from non-members', () => {
    const n = new TestNode({ id: 1, voters: [1, 2, 3] });
    const local: Message = { type: 'hup', from: 1n, to: 1n, term: 0 };
    assert.throws(() => n.raw.step(local), (e: unknown) => isRaftError(e, 'StepLocalMsg'));
    const resp: Message = { type: 'appResp', from: 9n, to: 1n, term: 1, index: 1, reject: false, rejectHint: 0, logTerm: 0 };
    assert.throws(() => n.raw.step(resp), (e: unknown) => isRaftError(e, 'StepPeerNotFound'));
    for (const [type, kind] of Object.entries(MESSAGE_KINDS)) if (kind.local) assert.ok(['hup', 'beat', 'checkQuorum', 'unreachable', 'snapStatus'].includes(type));
  });

  it('propose() without a leader throws ProposalDropped', () => {
    const n = new TestNode({ id: 1, voters: [1, 2, 3] });
    assert.throws(() => n.raw.propose(new Uint8Array([1])), (e: unknown) => e instanceof RaftError && e.code === 'ProposalDropped');
  });

  it('a follower forwards proposals to the leader with term 0', () => {
    const n = new TestNode({ id: 2, voters: [1, 2, 3] });
    n.drain();
    n.step({ type: 'heartbeat', from: 1n, to: 2n, term: 1, commit: 0, context: null });
    n.raw.propose(new Uint8Array([7]));
    const props = ofType(n.drain(), 'prop');
    assert.equal(props.length, 1);
    assert.equal(props[0]!.to, 1n);
    assert.equal(props[0]!.term, 0);
  });

  it('status() reports role, term, config and, on the leader, progress', () => {
    const n = new TestNode({ id: 1, voters: [1] });
    n.raw.campaign();
    n.drain();
    const st = n.raw.status();
    assert.equal(st.role, 'leader');
    assert.deepEqual(st.config, { voters: [1n], learners: [] });
    assert.equal(st.progress.get(1n)?.match, 1);
  });

  it('bootstrap writes identical committed conf-change entries on every founding member', () => {
    const a = new RawNode({ id: 1n, storage: new MemoryStorage(), electionTick: 10, heartbeatTick: 1, randomInt: () => 0 });
    const b = new RawNode({ id: 2n, storage: new MemoryStorage(), electionTick: 10, heartbeatTick: 1, randomInt: () => 0 });
    a.bootstrap([1n, 2n]);
    b.bootstrap([1n, 2n]);
    const ra = a.ready();
    const rb = b.ready();
    assert.deepEqual(ra.entries, rb.entries);
    assert.deepEqual(ra.committedEntries.map((e) => decodeConfChange(e.data).nodeId), [1n, 2n]);
    assert.throws(() => a.bootstrap([1n]), TypeError);
  });

  it('configuration is validated', () => {
    const base = { storage: new MemoryStorage(), electionTick: 10, heartbeatTick: 1, randomInt: () => 0 };
    assert.throws(() => new RawNode({ ...base, id: 0n }), TypeError);
    assert.throws(() => new RawNode({ ...base, id: 1n, electionTick: 1 }), TypeError);
  });
});

describe('conf change codec', () => {
  it('round-trips 64-bit member IDs and context', () => {
    const cc = { type: 'addLearnerNode' as const, nodeId: 0xfedcba9876543210n, context: new Uint8Array([1, 2, 3]) };
    assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
    assert.throws(() => encodeConfChange({ ...cc, nodeId: 1n << 64n }), TypeError);
    assert.throws(() => decodeConfChange(new Uint8Array([9])), Error);
  });
});

describe('MemoryStorage', () => {
  it('appends, truncates a conflicting tail, compacts and snapshots', () => {
    const s = new MemoryStorage();
    s.append(entriesFor([1, 1, 2, 2]));
    assert.equal(s.lastIndex(), 4);
    s.append([{ term: 3, index: 3, type: 'normal', data: new Uint8Array() }]);
    assert.equal(s.lastIndex(), 3);
    assert.equal(s.term(3), 3);
    s.createSnapshot(2, { voters: [1n], learners: [] }, new Uint8Array([42]));
    s.compact(2);
    assert.equal(s.firstIndex(), 3);
    assert.equal(s.term(2), 1);
    assert.throws(() => s.term(1), (e: unknown) => isRaftError(e, 'Compacted'));
    assert.throws(() => s.entries(2, 3, 100), (e: unknown) => isRaftError(e, 'Compacted'));
    assert.throws(() => s.term(9), (e: unknown) => isRaftError(e, 'Unavailable'));
    assert.throws(() => s.createSnapshot(1, { voters: [], learners: [] }, new Uint8Array()), (e: unknown) => isRaftError(e, 'SnapOutOfDate'));
    s.applySnapshot({ data: new Uint8Array(), metadata: { index: 10, term: 4, confState: { voters: [1n], learners: [] } } });
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
  });

  it('entries() honours maxSize but returns at least one entry, and returns copies', () => {
    const s = new MemoryStorage();
    s.append(entriesFor([1, 1, 1, 1]));
    assert.equal(s.entries(1, 5, 0).length, 1);
    assert.equal(s.entries(1, 5, 40).length, 2); // 2 * (2 bytes + 16)
    const got = s.entries(1, 5, Infinity);
    s.append([{ term: 2, index: 2, type: 'normal', data: new Uint8Array() }]);
    assert.equal(got.length, 4, 'a handed-out slice is not affected by later writes');
    assert.equal(got[1]!.term, 1);
  });
});

describe('purity of src/raft', () => {
  const dir = join(process.cwd(), 'src/raft');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it('imports nothing outside src/raft (not even node:*)', () => {
    for (const f of files) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/\bfrom\s+'([^']+)'/g)) assert.ok(m[1]!.startsWith('./'), `${f} imports ${m[1]}`);
      assert.ok(!/\bimport\s*\(/.test(src), `${f} uses dynamic import`);
      assert.ok(!/\brequire\s*\(/.test(src), `${f} uses require`);
    }
  });

  it('uses no clock, no Math.random, no timers, no async', () => {
    for (const f of files) {
      const code = readFileSync(join(dir, f), 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const banned of [/\bDate\b/, /Math\.random/, /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bqueueMicrotask\b/, /\basync\b/, /\bawait\b/, /\bPromise\b/, /\bprocess\./, /\bperformance\b/]) {
        assert.ok(!banned.test(code), `${f} uses ${banned}`);
      }
    }
  });

  it('is deterministic: the same seed gives the same run', async () => {
    const { runSeed } = await import('../harness/simnet.js');
    assert.deepEqual(runSeed(4242), runSeed(4242));
  });
});

describe('untrusted input', () => {
  it('a malformed forwarded proposal is dropped at the leader, not fatal', () => {
    const n = new TestNode({ id: 1, voters: [1] });
    n.raw.campaign();
    n.drain();
    n.drain();
    const before = n.raw.status().lastIndex;
    n.raw.step({ type: 'prop', from: 2n, to: 1n, term: 0, entries: [] });
    n.raw.step({ type: 'prop', from: 2n, to: 1n, term: 0, entries: [{ term: 0, index: 0, type: 'confChange', data: new Uint8Array([7]) }] });
    assert.equal(n.raw.status().lastIndex, before);
  });
});
