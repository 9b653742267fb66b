// Pipelined persistence (RawNode.accept / persisted): scenarios named after the
// guarantee they protect (GUARANTEES L4 acknowledged means durable, L11 raft
// core suite, L12 term and vote safety). The randomized simulation mixes this
// driver with the sync one (test/harness/simnet.ts); these pin shapes it
// reaches only by chance or, like a single voter, not at all.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, SimViolation, enc } from '../harness/simnet.js';
import { TestNode, ofType } from './helpers.js';
import type { Entry } from '../../src/raft/index.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: enc(`t${term}i${index}`) });
const ids = (ents: readonly Entry[]): string[] => ents.map((e) => `${e.index}@${e.term}`);

/** A follower (id 2 of 1..3) at term 2 whose log holds entry 1@1, everything persisted. */
function follower(): TestNode {
  const f = new TestNode({ id: 2, voters: [1, 2, 3], logTerms: [1], hardState: { term: 2 } });
  f.drain();
  return f;
}

describe('L4 pipelined persistence: acknowledged means durable', () => {
  it('L4 a single voter with two accepted in-flight Readies commits nothing until persisted(), then both in order', () => {
    const n = new TestNode({ id: 1, voters: [1] });
    n.raw.campaign();
    n.drain();
    const base = n.raw.status().commit;
    assert.equal(n.raw.status().role, 'leader');

    n.raw.propose(enc('a'));
    const rd1 = n.raw.ready();
    n.raw.accept(rd1);
    n.raw.propose(enc('b'));
    const rd2 = n.raw.ready();
    n.raw.accept(rd2);
    assert.deepEqual(rd1.entries.map((e) => e.index), [base + 1]);
    assert.deepEqual(rd2.entries.map((e) => e.index), [base + 2], 'the second Ready carries only what the first did not');
    assert.equal(n.raw.inFlightCount, 2);
    assert.equal(n.raw.status().commit, base, 'the leader is the only voter and holds neither entry durably');
    assert.equal(n.raw.hasReady(), false);

    n.persist(rd1);
    n.raw.persisted(rd1);
    assert.equal(n.raw.status().commit, base + 1, 'persisted(rd1) commits rd1 and nothing of rd2');
    n.persist(rd2);
    n.raw.persisted(rd2);
    assert.equal(n.raw.status().commit, base + 2);
    assert.equal(n.raw.inFlightCount, 0);

    const rd3 = n.raw.ready();
    assert.deepEqual(rd3.committedEntries.map((e) => new TextDecoder().decode(e.data)), ['a', 'b']);
    assert.equal(rd3.hardState?.commit, base + 2);
    assert.equal(rd3.entries.length, 0, 'nothing is handed out twice');
  });

  it('L4 a crash with writes in flight, then restart, never loses an entry the leader counted as committed', () => {
    const c = new Cluster({ voters: 3, pipelined: 1 });
    c.campaign(1);
    c.stabilize();
    const l = c.node(1);
    assert.equal(l.role, 'leader');
    c.autoFlush = false;

    assert.ok(c.propose(1, 'x'));
    c.stabilize(); // the leader's append goes out at once; the followers accept it and hold their acks
    const xIndex = l.raw.status().lastIndex;
    assert.equal(ofType(c.queued(), 'appResp').length, 0);
    assert.ok(c.node(2).pending.length > 0 && c.node(3).pending.length > 0);
    assert.ok(l.raw.status().commit < xIndex, 'no durable copy anywhere: not committed');

    c.flush(1); // the leader's own copy is durable: one of three
    assert.ok(l.raw.status().commit < xIndex);
    c.flush(2); // node 2's write lands and its held ack goes out
    c.stabilize();
    assert.equal(l.raw.status().commit, xIndex, 'two durable copies: committed');
    assert.ok(l.appliedData.includes('x'), 'the leader applied it');
    assert.ok(c.node(3).pending.length > 0, "node 3's copy is still in flight");
    assert.ok(l.pending.length > 0, "the leader's commit index is still in flight");

    // Everyone crashes: every write still in flight is gone.
    for (const id of [1, 2, 3]) c.crash(id);
    assert.equal(c.node(3).storage.lastIndex(), xIndex - 1, 'node 3 lost x');
    assert.ok(c.stats.lostWrites >= 2);
    c.autoFlush = true;
    c.restart(2);
    c.restart(3);
    c.campaign(3); // node 3 lacks x: node 2 must refuse it
    c.stabilize();
    assert.notEqual(c.node(3).role, 'leader');
    c.campaign(2);
    c.stabilize();
    assert.equal(c.node(2).role, 'leader');
    c.restart(1);
    c.tickAll(2); // heartbeats reach the restarted node 1
    for (const id of [1, 2, 3]) assert.ok(c.node(id).appliedData.includes('x'), `node ${id} applied x`);
    assert.equal(c.checker.violations, 0);
  });

  it('L4 the checker catches a pipelined driver that sends a follower\'s acks before its write is durable', () => {
    const c = new Cluster({ voters: 3, pipelined: 1 });
    c.campaign(1);
    c.stabilize();
    c.autoFlush = false;
    c.node(2).sendBeforePersist = true;
    c.node(3).sendBeforePersist = true;
    assert.ok(c.propose(1, 'x'));
    c.stabilize();
    const l = c.node(1);
    assert.equal(l.raw.status().commit, l.raw.status().lastIndex, 'the leader counted the early acks');
    assert.ok(l.appliedData.includes('x'));
    for (const id of [1, 2, 3]) c.crash(id); // no copy of x was durable
    c.autoFlush = true;
    c.restart(2);
    c.restart(3);
    assert.throws(
      () => {
        c.campaign(2);
        c.stabilize();
      },
      (e: unknown) => e instanceof SimViolation && /leader completeness: leader 2 of term \d+ lacks committed entry/.test(e.message),
    );
  });

  it('L4 an entry applied from a write in flight and undone by a crash is applied again identically', () => {
    const c = new Cluster({ voters: 3, pipelined: 1 });
    c.campaign(1);
    c.stabilize();
    c.autoFlush = false;
    c.isolate(3);
    assert.ok(c.propose(1, 'y'));
    c.stabilize();
    c.flush(1);
    c.flush(2);
    c.stabilize();
    c.heal();
    // Node 3 catches up: the entry and a commit index covering it come together, so it applies
    // 'y' while the write of 'y' is still in flight. Then it crashes.
    const n3 = c.node(3);
    c.tick(1); // a heartbeat; each answer of node 3 waits for its write (flush)
    c.stabilize();
    for (let round = 0; round < 5 && !n3.appliedData.includes('y'); round++) {
      c.flush(3);
      c.stabilize(); // the leader probes, then resends 'y' with a commit index covering it
    }
    assert.ok(n3.appliedData.includes('y'));
    assert.ok(n3.applied > n3.storage.lastIndex(), 'applied beyond its durable log');
    c.crash(3);
    assert.ok(c.stats.undoneApplies > 0);
    c.autoFlush = true;
    c.restart(3);
    assert.equal(n3.appliedData.length, 0, 'the applied state comes only from the disk');
    c.tickAll(3);
    assert.ok(n3.appliedData.includes('y'), 'applied again');
    assert.equal(c.checker.violations, 0, 'the second apply (same entry, same state digest) is no contradiction');
  });
});

describe('L12 pipelined persistence: term and vote safety', () => {
  it('L12 a single voter leads only from persisted() of the Ready that records its vote', () => {
    const n = new TestNode({ id: 1, voters: [1] });
    n.raw.campaign();
    const rd1 = n.raw.ready();
    assert.equal(rd1.softState?.role, 'candidate');
    assert.deepEqual(rd1.hardState, { term: 1, vote: 1n, commit: 0 });
    n.raw.accept(rd1);
    assert.equal(n.raw.status().role, 'candidate', 'its vote is still being written');
    assert.equal(n.raw.hasReady(), false);
    n.persist(rd1);
    n.raw.persisted(rd1);
    assert.equal(n.raw.status().role, 'leader');
    const rd2 = n.raw.ready();
    assert.equal(rd2.softState?.role, 'leader');
    assert.equal(rd2.entries.length, 1, 'the no-op of its term');
  });

  it('L12 a single voter that crashes with its new term in flight cannot lead that term twice with different entries (its learner would diverge)', () => {
    const c = new Cluster({ voters: 1, learners: 1, pipelined: 1 });
    c.campaign(1);
    c.stabilize();
    assert.equal(c.node(1).role, 'leader');
    c.crash(1);
    c.restart(1);
    const durableTerm = c.node(1).storage.hardStateSaved().term;
    c.autoFlush = false;
    // A new term whose write is in flight. Were it leader now, its appends (sent at once, as a
    // leader's are) would give the learner entries of a term the disk does not know.
    c.campaign(1);
    c.propose(1, 'P');
    c.stabilize();
    c.flush(2);
    c.stabilize();
    c.crash(1);
    c.restart(1);
    assert.equal(c.node(1).storage.hardStateSaved().term, durableTerm, 'the new term was lost with the crash');
    c.autoFlush = true;
    c.campaign(1);
    c.stabilize();
    assert.equal(c.node(1).role, 'leader');
    assert.ok(c.propose(1, 'Q'));
    c.tickAll(3);
    // With the leader counting its own vote before it was durable, the learner kept P at the
    // index where the leader wrote Q, in the same term (log matching violation).
    assert.ok(c.node(2).appliedData.includes('Q'));
    assert.ok(!c.node(2).appliedData.includes('P'));
    assert.equal(c.checker.violations, 0);
  });
});

describe('L11 pipelined persistence: raft core', () => {
  it('L11 async-append ABA race: entries accepted, then overwritten before persisted(), are not marked stable by it', () => {
    const f = follower();
    f.raw.step({ type: 'app', from: 1n, to: 2n, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2), entry(3, 2)], commit: 1 });
    const rd1 = f.raw.ready();
    f.raw.accept(rd1);
    assert.deepEqual(ids(rd1.entries), ['2@2', '3@2']);
    // A new leader of term 3 overwrites indexes 2 and 3 while rd1's write is in flight: the
    // log's index 3 still exists, with another term, when persisted(rd1) names (3, 2).
    f.raw.step({ type: 'app', from: 3n, to: 2n, term: 3, index: 1, logTerm: 1, entries: [entry(2, 3), entry(3, 3)], commit: 1 });
    f.persist(rd1);
    f.raw.persisted(rd1);
    const rd2 = f.raw.ready();
    assert.deepEqual(ids(rd2.entries), ['2@3', '3@3'], 'the replacement is still to be written');
    f.raw.accept(rd2);
    f.persist(rd2);
    f.raw.persisted(rd2);
    assert.equal(f.raw.hasReady(), false);
    assert.deepEqual(f.logTerms(), [1, 3, 3]);
    // Each ack vouches for the Ready it came with (and, in accept order, every earlier one).
    assert.deepEqual(ofType(rd1.messages, 'appResp').map((m) => [m.term, m.index]), [[2, 3]]);
    assert.deepEqual(ofType(rd2.messages, 'appResp').map((m) => [m.term, m.index]), [[3, 3]]);
  });

  it('L11 async-append ABA race: a tail overwritten while both Readies are in flight is written once, then persisted in order', () => {
    const f = follower();
    f.raw.step({ type: 'app', from: 1n, to: 2n, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2), entry(3, 2)], commit: 1 });
    const rd1 = f.raw.ready();
    f.raw.accept(rd1);
    // The term-3 leader shares 2@2 and replaces 3.
    f.raw.step({ type: 'app', from: 3n, to: 2n, term: 3, index: 2, logTerm: 2, entries: [entry(3, 3), entry(4, 3)], commit: 2 });
    const rd2 = f.raw.ready();
    f.raw.accept(rd2);
    assert.deepEqual(ids(rd2.entries), ['3@3', '4@3'], 'only the replaced tail, not 2@2 again');
    assert.deepEqual(ids(rd2.committedEntries), ['2@2'], 'a committed entry may be applied while its write is in flight');
    assert.equal(f.raw.inFlightCount, 2);
    f.persist(rd1);
    f.raw.persisted(rd1);
    f.persist(rd2);
    f.raw.persisted(rd2);
    assert.equal(f.raw.hasReady(), false, 'nothing left to write');
    assert.deepEqual(f.logTerms(), [1, 2, 3, 3]);
  });

  it('L11 async-append ABA race: an overwrite between ready() and accept() is handed out again', () => {
    const f = follower();
    f.raw.step({ type: 'app', from: 1n, to: 2n, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2), entry(3, 2)], commit: 1 });
    const rd1 = f.raw.ready();
    // A driver may step the node between ready() and accept() (e.g. a snapshot status report).
    f.raw.step({ type: 'app', from: 3n, to: 2n, term: 3, index: 1, logTerm: 1, entries: [entry(2, 3)], commit: 1 });
    f.raw.accept(rd1);
    const rd2 = f.raw.ready();
    assert.deepEqual(ids(rd2.entries), ['2@3']);
    f.raw.accept(rd2);
    f.persist(rd1);
    f.raw.persisted(rd1);
    f.persist(rd2);
    f.raw.persisted(rd2);
    assert.deepEqual(f.logTerms(), [1, 3]);
    assert.equal(f.raw.hasReady(), false);
  });

  it('L11 a leader sends its appends before its own write is durable, and commits on followers\' durable copies', () => {
    const l = new TestNode({ id: 1, voters: [1, 2, 3] });
    l.raw.campaign();
    const votes = l.drain();
    for (const m of ofType(votes, 'vote')) l.raw.step({ type: 'voteResp', from: m.to, to: 1n, term: m.term, reject: false });
    const rd = l.raw.ready();
    l.raw.accept(rd);
    assert.equal(rd.softState?.role, 'leader');
    const apps = ofType(rd.messages, 'app');
    assert.equal(apps.length, 2, 'the no-op goes out with the Ready that writes it');
    const noop = rd.entries[0]!.index;
    assert.equal(l.raw.status().commit, 0);
    // Both followers wrote it durably and acknowledged; the leader's own write is still in flight.
    for (const m of apps) l.raw.step({ type: 'appResp', from: m.to, to: 1n, term: m.term, index: noop, reject: false, rejectHint: 0, logTerm: 0 });
    assert.equal(l.raw.status().commit, noop, 'two durable copies of three suffice');
    const rd2 = l.raw.ready();
    assert.deepEqual(rd2.committedEntries.map((e) => e.index), [noop]);
    l.raw.accept(rd2);
    l.persist(rd);
    l.raw.persisted(rd);
    l.persist(rd2);
    l.raw.persisted(rd2);
    assert.equal(l.raw.inFlightCount, 0);
  });

  it('L11 persisted() out of order, twice, or of a Ready never accepted is a TypeError', () => {
    const n = new TestNode({ id: 1, voters: [1] });
    n.raw.campaign();
    n.drain();
    n.raw.propose(enc('a'));
    const rd1 = n.raw.ready();
    assert.throws(() => n.raw.persisted(rd1), TypeError, 'not accepted yet');
    n.raw.accept(rd1);
    n.raw.propose(enc('b'));
    const rd2 = n.raw.ready();
    n.raw.accept(rd2);
    assert.throws(() => n.raw.persisted(rd2), TypeError, 'rd1 is older');
    assert.throws(() => n.raw.accept(rd2), TypeError, 'accepted twice');
    n.persist(rd1);
    n.raw.persisted(rd1);
    assert.throws(() => n.raw.persisted(rd1), TypeError, 'persisted twice');
    n.persist(rd2);
    n.raw.persisted(rd2);
    assert.equal(n.raw.status().commit, rd2.entries[0]!.index);
  });
});
