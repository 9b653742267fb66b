// Scripted scenarios named after the guarantee they protect
// (see GUARANTEES.md L6, L9, L10, L11, L12).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, SimViolation, enc } from '../harness/simnet.js';
import { TestNode, ofType } from './helpers.js';
import type { Message } from '../../src/raft/index.js';
import { isRaftError } from '../../src/raft/index.js';

function electedCluster(opts: ConstructorParameters<typeof Cluster>[0] = {}, leader = 1): Cluster {
  const c = new Cluster(opts);
  c.campaign(leader);
  c.stabilize();
  assert.equal(c.node(leader).role, 'leader');
  return c;
}

describe('L12 term and vote safety', () => {
  it('L12 a restarted voter never grants two votes in one term (crash after persisting the vote, before sending it)', () => {
    const c = new Cluster({ voters: 3 });
    c.node(3).crashAt = 'afterPersist';
    c.campaign(1); // node 3 persists vote(1) for term 2, then crashes before answering
    c.stabilize();
    assert.equal(c.node(3).up, false);
    assert.equal(c.node(3).storage.hardStateSaved().vote, 1n);
    c.isolate(1);
    c.restart(3);
    // A vote request from node 2 for the same term 2 (crafted: node 2 would be a term-2 candidate)
    const req: Message = { type: 'vote', from: 2n, to: 3n, term: 2, index: 9, logTerm: 9, transfer: false };
    c.node(3).raw.step(req);
    c.process(c.node(3));
    const answers = c.queued().filter((m) => m.type === 'voteResp' && m.from === 3n);
    assert.equal(answers.length, 1);
    assert.equal(answers[0]!.type === 'voteResp' && answers[0]!.reject, true, 'the persisted vote for node 1 binds after restart');
  });

  it('L12 a voter that crashed before persisting may vote again, because its first vote never left', () => {
    const c = new Cluster({ voters: 3 });
    c.node(3).crashAt = 'beforePersist';
    c.filter = (m) => !(m.type === 'voteResp' && m.from === 2n); // node 1 cannot win with node 2 alone
    c.campaign(1);
    c.stabilize();
    c.filter = null;
    c.restart(3);
    assert.equal(c.node(3).storage.hardStateSaved().vote, 0n);
    c.isolate(1);
    c.node(3).raw.step({ type: 'vote', from: 2n, to: 3n, term: 2, index: 9, logTerm: 9, transfer: false });
    c.process(c.node(3));
    // The checker records every granted vote sent; a double grant would have thrown.
    assert.equal(c.checker.violations, 0);
  });

  it('L11/L12 persisting before sending is enforced: a driver that sends a vote before persisting it is caught', () => {
    const c = new Cluster({ voters: 3 });
    const n3 = c.node(3);
    n3.sendBeforePersist = true;
    n3.crashAt = 'afterSend';
    c.filter = (m) => !(m.type === 'voteResp' && m.to === 1n); // keep node 1 a candidate
    c.campaign(1);
    c.stabilize();
    assert.equal(n3.up, false, 'node 3 sent its grant and crashed before persisting');
    c.restart(3);
    c.node(3).sendBeforePersist = false;
    assert.throws(() => {
      c.node(3).raw.step({ type: 'vote', from: 2n, to: 3n, term: 2, index: 9, logTerm: 9, transfer: false });
      c.process(c.node(3));
    }, (e: unknown) => e instanceof SimViolation && /L12 node 3 granted two votes in term 2/.test(e.message));
  });

  it('L12 at most one leader per term across random crash schedules', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const c = new Cluster({ seed, voters: 3 });
      c.net = { dropRate: 0.1, dupRate: 0.1, minDelay: 1, maxDelay: 20 };
      for (let t = 0; t < 2000; t++) {
        c.step();
        if (c.rng.chance(0.01)) {
          const n = c.rng.pick([...c.nodes.values()]);
          if (n.up) n.crashAt = c.rng.pick(['beforePersist', 'afterPersist', 'afterSend'] as const);
          else c.restart(n.id);
        }
      }
      assert.equal(c.checker.violations, 0);
      assert.ok(c.checker.leaders.size >= 1);
    }
  });
});

describe('L11 raft core deterministic suite', () => {
  it('L11 checkquorum: a leader that cannot hear from a quorum steps down', () => {
    const c = electedCluster({ voters: 3, checkQuorum: true });
    c.isolate(1);
    c.tick(1, 2 * 10 + 1);
    assert.equal(c.node(1).role, 'follower');
  });

  it('L11 checkquorum: followers that hear from a leader ignore vote requests (leader lease)', () => {
    const c = electedCluster({ voters: 3, checkQuorum: true });
    const term = c.node(1).term;
    c.node(2).raw.step({ type: 'vote', from: 3n, to: 2n, term: term + 1, index: 100, logTerm: term, transfer: false });
    c.process(c.node(2));
    assert.equal(c.node(2).term, term, 'term unchanged');
    assert.equal(c.queued().filter((m) => m.type === 'voteResp').length, 0, 'no answer at all');
  });

  it('L11 prevote: a partitioned node does not disrupt the cluster when it rejoins', () => {
    const c = electedCluster({ voters: 3, preVote: true });
    const term = c.node(1).term;
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.tickAll(10);
    assert.equal(c.node(3).term, term, 'pre-votes fail, so the isolated node never raises its term');
    c.heal();
    c.tickAll(5);
    assert.equal(c.node(1).role, 'leader');
    assert.equal(c.node(1).term, term);
    assert.equal(c.node(3).lead, 1n);
  });

  it('L11 prevote+checkquorum: an isolated leader is replaced and rejoins as follower', () => {
    const c = electedCluster({ voters: 3, preVote: true, checkQuorum: true });
    const term = c.node(1).term;
    c.isolate(1);
    c.tickAll(40);
    assert.notEqual(c.node(1).role, 'leader', 'check-quorum deposed the isolated leader');
    assert.equal(c.node(1).term, term, 'and its pre-votes fail, so its term stays');
    const l = c.leader();
    assert.ok(l !== undefined && l.id !== 1n && l.term > term, 'the majority elected a new leader');
    c.propose(l.id, 'after');
    c.stabilize();
    c.heal();
    c.tickAll(5);
    assert.equal(c.node(1).lead, l.id);
    assert.deepEqual(c.node(1).appliedData, ['after']);
  });

  it('L11 prevote+checkquorum: a node with a higher term but a stale log is not stuck and does not block the cluster', () => {
    // Without pre-vote node 3 raises its term while isolated; with check-quorum
    // the others ignore its votes while in lease. It must still rejoin.
    const c = electedCluster({ voters: 3, checkQuorum: true, preVote: false });
    c.isolate(3);
    c.tickAll(60);
    assert.ok(c.node(3).term > c.node(1).term);
    c.propose(1, 'while-away');
    c.stabilize();
    c.heal();
    c.tickAll(60);
    const l = c.leader();
    assert.ok(l !== undefined);
    assert.ok(l.id !== 3n, 'the stale node cannot win');
    for (const id of [1, 2, 3]) assert.equal(c.node(id).term, l.term, `node ${id} converged on the leader's term`);
    c.propose(l.id, 'later');
    c.stabilize();
    assert.deepEqual(c.node(3).appliedData, ['while-away', 'later']);
  });

  it('L11 lagging commit: a follower that missed the commit index learns it from heartbeats', () => {
    const c = electedCluster({ voters: 3 });
    // node 3 gets the entry but none of the appends that carry the new commit index
    let sawEntry = false;
    c.filter = (m) => {
      if (m.type !== 'app' || m.to !== 3n) return true;
      if (m.entries.length > 0 && !sawEntry) {
        sawEntry = true;
        return true;
      }
      return false;
    };
    c.propose(1, 'x');
    c.stabilize();
    assert.deepEqual(c.node(2).appliedData, ['x']);
    assert.deepEqual(c.node(3).appliedData, []);
    c.tickAll(1);
    assert.deepEqual(c.node(3).appliedData, ['x']);
  });

  it('L11 leader self-removal: the leader steps down once its removal is applied and the rest elect a leader', () => {
    const c = electedCluster({ voters: 3 });
    c.propose(1, 'a');
    c.stabilize();
    assert.ok(c.proposeConfChange(1, { type: 'removeNode', nodeId: 1n }));
    c.stabilize();
    assert.equal(c.node(1).removed, true);
    c.tickAll(30);
    const l = c.leader();
    assert.ok(l !== undefined && l.id !== 1n);
    assert.deepEqual(l.confState.voters, [2n, 3n]);
    c.propose(l.id, 'b');
    c.stabilize();
    for (const id of [2, 3]) assert.deepEqual(c.node(id).appliedData, ['a', 'b']);
  });

  it('L11 slow follower after compaction is caught up by a snapshot', () => {
    const c = electedCluster({ voters: 3, snapshotEvery: 5, keepLogTail: 0 });
    c.isolate(3);
    for (let i = 0; i < 30; i++) {
      c.propose(1, `v${i}`);
      c.stabilize();
    }
    assert.ok(c.node(1).storage.firstIndex() > c.node(3).storage.lastIndex() + 1, 'the leader compacted past node 3');
    c.heal();
    c.tickAll(5);
    assert.ok(c.stats.snapshotsSent >= 1);
    assert.equal(c.node(3).applied, c.node(1).applied);
    assert.equal(c.node(3).digest, c.node(1).digest);
    c.propose(1, 'after');
    c.stabilize();
    assert.deepEqual(c.node(3).appliedData.slice(-1), ['after']);
  });

  it('L11 snapshot behind pending: an ack behind the pending snapshot but within the retained log resumes replication', () => {
    const c = electedCluster({ voters: 3, snapshotEvery: 5, keepLogTail: 2 });
    c.isolate(3);
    for (let i = 0; i < 12; i++) {
      c.propose(1, `v${i}`);
      c.stabilize();
    }
    c.heal();
    c.hold = (m) => m.type === 'snap'; // the snapshot is on its way, slowly
    c.tickAll(2);
    const pr = () => c.node(1).raw.status().progress.get(3n)!;
    assert.equal(pr().state, 'snapshot');
    const pending = pr().pendingSnapshot;
    const first = c.node(1).storage.firstIndex();
    assert.ok(first - 1 < pending, 'the leader still holds entries before its snapshot index');
    // Node 3 acknowledges first-1 (as if it caught up from an older snapshot):
    // the leader can continue from its log without waiting for the pending one.
    c.node(1).raw.step({ type: 'appResp', from: 3n, to: 1n, term: c.node(1).term, index: first - 1, reject: false, rejectHint: 0, logTerm: 0 });
    c.process(c.node(1));
    assert.equal(pr().state, 'replicate');
    assert.equal(pr().match, first - 1);
  });

  it('L11 async-append ABA race: entries overwritten between ready() and advance() are not marked stable', () => {
    const f = new TestNode({ id: 2, voters: [1, 2, 3], logTerms: [1], hardState: { term: 2 } });
    f.drain();
    const e = (index: number, term: number) => ({ index, term, type: 'normal' as const, data: enc(`t${term}i${index}`) });
    f.raw.step({ type: 'app', from: 1n, to: 2n, term: 2, index: 1, logTerm: 1, entries: [e(2, 2), e(3, 2)], commit: 1 });
    const rd1 = f.raw.ready();
    assert.deepEqual(rd1.entries.map((x) => x.term), [2, 2]);
    // A new leader of term 3 overwrites index 2 before the driver finished writing rd1.
    f.raw.step({ type: 'app', from: 3n, to: 2n, term: 3, index: 1, logTerm: 1, entries: [e(2, 3)], commit: 1 });
    f.persist(rd1);
    f.raw.advance(rd1);
    const rd2 = f.raw.ready();
    assert.deepEqual(rd2.entries.map((x) => `${x.index}@${x.term}`), ['2@3'], 'the overwrite is still to be persisted');
    f.persist(rd2);
    f.raw.advance(rd2);
    assert.deepEqual(f.logTerms(), [1, 3]);
    // the acknowledgements: term 2's ack vouches for 3, term 3's for 2 only
    assert.deepEqual(ofType(rd1.messages, 'appResp').map((m) => m.index), [3]);
    assert.deepEqual(ofType(rd2.messages, 'appResp').map((m) => [m.term, m.index]), [[3, 2]]);
  });
});

describe('L6 stale reads', () => {
  it('L6 new leader serves no ReadIndex before committing in its term', () => {
    const c = new Cluster({ voters: 3 });
    c.filter = (m) => m.type !== 'app'; // votes pass, the new leader's no-op does not
    c.campaign(1);
    c.stabilize();
    assert.equal(c.node(1).role, 'leader');
    const noop = c.node(1).storage.lastIndex();
    c.readIndex(1);
    c.stabilize();
    c.tickAll(2);
    assert.equal(c.node(1).readStates.length, 0, 'held until an entry of the term commits');
    c.filter = null;
    c.tickAll(2);
    assert.equal(c.node(1).readStates.length, 1);
    assert.ok(c.node(1).readStates[0]!.index >= noop);
  });

  it('L6 a partitioned old leader never answers a ReadIndex (no quorum confirms it)', () => {
    const c = electedCluster({ voters: 3 });
    c.isolate(1);
    c.readIndex(1);
    c.tickAll(50); // the majority elects a new leader and commits
    const l = c.leader();
    assert.ok(l !== undefined && l.id !== 1n);
    c.propose(l.id, 'new');
    c.stabilize();
    assert.equal(c.node(1).readStates.length, 0);
    c.heal();
    c.tickAll(5);
    assert.equal(c.node(1).readStates.length, 0, 'the pending read was dropped when it stepped down');
  });

  it('L6 a follower ReadIndex is forwarded and answered with the leader\'s commit index after a heartbeat round', () => {
    const c = electedCluster({ voters: 3 });
    c.propose(1, 'x');
    c.stabilize();
    const commit = c.node(1).commit;
    const ctx = c.readIndex(2);
    c.stabilize();
    assert.equal(c.node(2).readStates.length, 1);
    assert.deepEqual(c.node(2).readStates[0]!.requestCtx, ctx);
    assert.equal(c.node(2).readStates[0]!.index, commit);
    assert.ok(c.queued().length === 0);
  });

  it('L6 concurrent ReadIndex requests are answered by one heartbeat round', () => {
    const c = electedCluster({ voters: 3 });
    const seen: Message[] = [];
    c.filter = (m) => {
      seen.push(m);
      return m.type !== 'heartbeatResp';
    };
    c.readIndex(1);
    c.readIndex(1);
    c.readIndex(1);
    c.stabilize();
    c.filter = null;
    const last = c.readIndex(1);
    c.stabilize();
    assert.equal(c.node(1).readStates.length, 4, 'the last round confirms the earlier requests too');
    assert.deepEqual(c.node(1).readStates[3]!.requestCtx, last);
  });
});

describe('L9 membership', () => {
  it('L9 a learner never counts toward quorum (commit)', () => {
    const c = electedCluster({ voters: 3, learners: 2 });
    c.isolate(2);
    c.isolate(3);
    c.propose(1, 'x');
    c.stabilize();
    c.tickAll(3);
    assert.deepEqual(c.node(4).storage.entries(c.node(4).storage.lastIndex(), c.node(4).storage.lastIndex() + 1, 100).map((e) => e.data.length > 0), [true], 'learners have the entry');
    assert.deepEqual(c.node(1).appliedData, [], 'but it is not committed');
    c.heal();
    c.tickAll(2);
    assert.deepEqual(c.node(1).appliedData, ['x']);
  });

  it('L9 a learner never counts toward quorum (ReadIndex confirmation)', () => {
    const c = electedCluster({ voters: 3, learners: 2 });
    c.isolate(2);
    c.isolate(3);
    c.readIndex(1);
    c.tickAll(3);
    assert.equal(c.node(1).readStates.length, 0);
  });

  it('L9 a learner never campaigns', () => {
    const c = electedCluster({ voters: 3, learners: 1 });
    const term = c.node(4).term;
    c.isolate(4);
    c.tick(4, 100);
    assert.equal(c.node(4).role, 'follower');
    assert.equal(c.node(4).term, term);
  });

  it('L9 a new member is added as learner, caught up, promoted, and then counts', () => {
    const c = electedCluster({ voters: 3 });
    c.propose(1, 'a');
    c.stabilize();
    const n = c.addEmptyNode();
    assert.ok(c.proposeConfChange(1, { type: 'addLearnerNode', nodeId: n.id }));
    c.stabilize();
    c.tickAll(2);
    assert.deepEqual(n.appliedData, ['a']);
    assert.deepEqual(n.confState.learners, [n.id]);
    assert.ok(c.proposeConfChange(1, { type: 'addNode', nodeId: n.id }));
    c.stabilize();
    assert.deepEqual(c.node(1).confState.voters, [1n, 2n, 3n, n.id]);
    // with 4 voters, 3 acks are needed: 1, 2 and the new node
    c.isolate(3);
    c.propose(1, 'b');
    c.stabilize();
    assert.deepEqual(n.appliedData, ['a', 'b']);
    c.isolate(2);
    c.propose(1, 'c');
    c.stabilize();
    assert.deepEqual(c.node(1).appliedData, ['a', 'b'], '1 and the new node are not a majority of 4');
  });

  it('L9 only one conf change may be pending, and a new leader accepts none before applying its first entry', () => {
    const c = new Cluster({ voters: 3 });
    c.filter = (m) => m.type !== 'app';
    c.campaign(1);
    c.stabilize();
    assert.equal(c.proposeConfChange(1, { type: 'addLearnerNode', nodeId: 7n }), false, 'no-op not applied yet');
    c.filter = null;
    c.tickAll(2);
    assert.equal(c.proposeConfChange(1, { type: 'addLearnerNode', nodeId: 7n }), true);
    c.filter = (m) => m.type !== 'app';
    assert.equal(c.proposeConfChange(1, { type: 'addLearnerNode', nodeId: 8n }), false, 'first change not applied');
    c.filter = null;
    c.tickAll(2);
    assert.equal(c.proposeConfChange(1, { type: 'addLearnerNode', nodeId: 8n }), true);
  });

  it('L9 removing the last voter is refused', () => {
    const c = electedCluster({ voters: 1 });
    c.tickAll(1);
    let err: unknown;
    try {
      c.node(1).raw.proposeConfChange({ type: 'removeNode', nodeId: 1n, context: new Uint8Array(0) });
    } catch (e) {
      err = e;
    }
    assert.ok(isRaftError(err, 'ProposalDropped'));
  });

  it('L9 even-voter apply-time conf changes stay live: 4 voters with one down remove it and keep committing', () => {
    const c = new Cluster({ voters: 4 });
    c.campaign(1);
    c.stabilize();
    c.crash(4);
    c.propose(1, 'a');
    c.stabilize();
    assert.ok(c.proposeConfChange(1, { type: 'removeNode', nodeId: 4n }));
    c.stabilize();
    assert.deepEqual(c.node(1).confState.voters, [1n, 2n, 3n]);
    c.crash(3);
    c.propose(1, 'b');
    c.stabilize();
    assert.deepEqual(c.node(2).appliedData, ['a', 'b'], '2 of 3 is a majority now');
  });

  it('L9 removing the leader under traffic: the cluster regains a leader and keeps every committed write', () => {
    const c = new Cluster({ seed: 5, voters: 5 });
    c.net = { dropRate: 0.05, dupRate: 0.05, minDelay: 1, maxDelay: 15 };
    assert.ok(c.runUntil(() => c.leader() !== undefined, 5000));
    const old = c.leader()!;
    for (let i = 0; i < 20; i++) {
      c.propose(old.id, `w${i}`);
      c.runFor(5);
    }
    assert.ok(c.runUntil(() => c.proposeConfChange(old.id, { type: 'removeNode', nodeId: old.id }), 3000));
    assert.ok(c.runUntil(() => old.removed, 3000));
    assert.ok(c.runUntil(() => c.leader() !== undefined && c.leader()!.id !== old.id, 5000));
    const l = c.leader()!;
    assert.ok(c.runUntil(() => c.propose(l.id, 'after'), 1000));
    assert.ok(c.runUntil(() => [...c.nodes.values()].filter((n) => !n.removed).every((n) => n.appliedData.includes('after')), 5000));
  });
});

describe('L10 snapshot catch-up', () => {
  it('L10 a follower blackholed until the leader compacted past it installs the snapshot, even when the snapshot predates its addition', () => {
    const c = electedCluster({ voters: 3, snapshotEvery: 4, keepLogTail: 0 });
    for (let i = 0; i < 10; i++) {
      c.propose(1, `v${i}`);
      c.stabilize();
    }
    const n = c.addEmptyNode();
    c.isolate(n.id);
    assert.ok(c.proposeConfChange(1, { type: 'addLearnerNode', nodeId: n.id }));
    c.stabilize();
    assert.ok(!c.snapshotOf(1).metadata.confState.learners.includes(n.id), 'the latest snapshot does not know the learner');
    c.heal();
    c.tickAll(3);
    assert.equal(n.applied, c.node(1).applied);
    assert.equal(n.digest, c.node(1).digest);
    assert.deepEqual(n.confState.learners, [n.id]);
  });

  it('L10 a second snapshot arriving quickly (duplicate) is ignored without harm', () => {
    const c = electedCluster({ voters: 3, snapshotEvery: 4, keepLogTail: 0 });
    c.isolate(3);
    for (let i = 0; i < 10; i++) {
      c.propose(1, `v${i}`);
      c.stabilize();
    }
    c.heal();
    const snaps: Message[] = [];
    c.filter = (m) => {
      if (m.type === 'snap') snaps.push(m);
      return true;
    };
    c.tickAll(2);
    assert.ok(snaps.length >= 1);
    c.node(3).raw.step(snaps[0]!);
    c.process(c.node(3));
    c.stabilize();
    c.tickAll(2);
    assert.equal(c.node(3).applied, c.node(1).applied);
  });

  it('L10 a crash after saving the snapshot, before applying it, recovers from the saved snapshot', () => {
    const c = electedCluster({ voters: 3, snapshotEvery: 4, keepLogTail: 0 });
    c.isolate(3);
    for (let i = 0; i < 10; i++) {
      c.propose(1, `v${i}`);
      c.stabilize();
    }
    c.heal();
    const n3 = c.node(3);
    c.filter = (m) => {
      if (m.type === 'snap' && m.to === 3n) n3.crashAt = 'afterPersist';
      return true;
    };
    c.tickAll(1);
    c.filter = null;
    assert.equal(n3.up, false);
    assert.ok(n3.storage.snapshot().metadata.index > 0, 'the snapshot was saved');
    c.restart(3);
    c.tickAll(3);
    assert.equal(n3.applied, c.node(1).applied);
    assert.equal(n3.digest, c.node(1).digest);
  });
});

describe('leader transfer', () => {
  it('transferLeader hands leadership to an up-to-date follower with TimeoutNow', () => {
    const c = electedCluster({ voters: 3, preVote: true, checkQuorum: true });
    const term = c.node(1).term;
    c.transferLeader(1, 3);
    c.stabilize();
    assert.equal(c.node(3).role, 'leader');
    assert.equal(c.node(3).term, term + 1);
    assert.equal(c.node(1).lead, 3n);
  });

  it('a lagging transferee is caught up first; proposals are dropped during the transfer', () => {
    const c = electedCluster({ voters: 3 });
    c.isolate(3);
    c.propose(1, 'x');
    c.stabilize();
    c.heal();
    c.filter = (m) => m.type !== 'appResp' || m.from !== 3n;
    c.transferLeader(1, 3);
    c.stabilize();
    assert.equal(c.propose(1, 'dropped'), false);
    c.filter = null;
    c.tickAll(1);
    assert.equal(c.node(3).role, 'leader');
    assert.deepEqual(c.node(3).appliedData, ['x']);
  });

  it('a transfer that cannot finish within an election timeout is aborted', () => {
    const c = electedCluster({ voters: 3 });
    c.isolate(3);
    c.transferLeader(1, 3);
    c.stabilize();
    assert.equal(c.propose(1, 'dropped'), false);
    c.tickAll(11);
    assert.equal(c.node(1).role, 'leader');
    assert.equal(c.propose(1, 'ok'), true);
  });
});

describe('flow control', () => {
  it('at most maxInflightMsgs appends are in flight to a replicating follower, each within maxSizePerMsg', () => {
    const c = electedCluster({ voters: 3, maxInflightMsgs: 3, maxSizePerMsg: 64 });
    c.filter = (m) => !(m.to === 2n || m.from === 2n);
    for (let i = 0; i < 20; i++) c.propose(1, `payload-${i}`);
    const toTwo = c.queued().filter((m) => m.type === 'app' && m.to === 2n);
    assert.equal(toTwo.length, 0, 'filtered at send');
    const apps = c.queued().filter((m): m is Extract<Message, { type: 'app' }> => m.type === 'app' && m.to === 3n);
    const withEntries = apps.filter((m) => m.entries.length > 0);
    assert.ok(withEntries.length <= 3 + 1, `bounded in-flight appends (${withEntries.length})`);
    for (const m of withEntries) assert.ok(m.entries.length === 1 || m.entries.reduce((s, e) => s + e.data.length + 16, 0) <= 64);
    c.filter = null;
    c.stabilize();
    c.tickAll(3);
    assert.equal(c.node(3).appliedData.length, 20);
    assert.equal(c.node(2).appliedData.length, 20, 'the stalled follower recovers through heartbeats');
  });
});
