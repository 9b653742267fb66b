// Sentences of the Raft paper (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", extended version), each checked
// against the core. In the spirit of etcd-io/raft's raft_paper_test.go.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../harness/simnet.js';
import { TestNode, ofType, pump } from './helpers.js';
import type { Message } from '../../src/raft/index.js';

const vote = (from: number, to: number, term: number, index: number, logTerm: number): Message => ({
  type: 'vote',
  from: BigInt(from),
  to: BigInt(to),
  term,
  index,
  logTerm,
  transfer: false,
});

describe('Raft paper §5.1 terms', () => {
  for (const role of ['follower', 'candidate', 'leader'] as const) {
    it(`if one server's current term is smaller than the other's, it updates its current term to the larger value (${role})`, () => {
      const c = new Cluster({ voters: 3 });
      if (role === 'candidate') {
        c.filter = () => false;
        c.campaign(1);
      } else if (role === 'leader') {
        c.campaign(1);
        c.stabilize();
      }
      assert.equal(c.node(1).role, role);
      c.filter = null;
      c.node(1).raw.step({ type: 'app', from: 2n, to: 1n, term: 9, index: 0, logTerm: 0, entries: [], commit: 0 });
      c.process(c.node(1));
      assert.equal(c.node(1).term, 9);
      // if a candidate or leader discovers that its term is out of date, it immediately reverts to follower state
      assert.equal(c.node(1).role, 'follower');
    });
  }

  it('if a server receives a request with a stale term number, it rejects the request', () => {
    const n = new TestNode({ id: 1, voters: [1, 2, 3], hardState: { term: 5 } });
    n.drain();
    const out = n.step({ type: 'vote', from: 2n, to: 1n, term: 3, index: 10, logTerm: 3, transfer: false });
    assert.equal(ofType(out, 'voteResp').length, 0);
    assert.equal(n.raw.status().vote, 0n);
    assert.equal(n.raw.status().term, 5);
  });
});

describe('Raft paper §5.2 leader election', () => {
  it('when servers start up, they begin as followers', () => {
    const n = new TestNode({ id: 1, voters: [1, 2, 3] });
    assert.equal(n.raw.status().role, 'follower');
  });

  it('leaders send periodic heartbeats to all followers to maintain their authority', () => {
    const c = new Cluster({ voters: 3, heartbeatTick: 1 });
    c.campaign(1);
    c.stabilize();
    const leader = c.node(1);
    leader.raw.tick();
    const rd = leader.raw.ready();
    const hbs = ofType(rd.messages, 'heartbeat');
    leader.raw.advance(rd);
    assert.deepEqual(hbs.map((m) => m.to).sort(), [2n, 3n]);
  });

  it('a follower that hears nothing for an election timeout increments its term, votes for itself and requests votes from every other server', () => {
    const n = new TestNode({ id: 1, voters: [1, 2, 3], electionTick: 10 });
    n.drain();
    const msgs: Message[] = [];
    for (let i = 0; i < 20; i++) {
      n.raw.tick();
      msgs.push(...n.drain());
    }
    const st = n.raw.status();
    assert.equal(st.role, 'candidate');
    assert.equal(st.term, 1);
    assert.equal(st.vote, 1n);
    assert.equal(n.storage.hardStateSaved().vote, 1n, 'the self-vote is persisted');
    assert.deepEqual(ofType(msgs, 'vote').map((m) => m.to).sort(), [2n, 3n]);
  });

  it('a candidate wins an election if it receives votes from a majority of the servers', () => {
    const cases: { size: number; grants: number[]; role: string }[] = [
      { size: 1, grants: [], role: 'leader' },
      { size: 3, grants: [2], role: 'leader' },
      { size: 3, grants: [], role: 'candidate' },
      { size: 5, grants: [2], role: 'candidate' },
      { size: 5, grants: [2, 3], role: 'leader' },
    ];
    for (const tc of cases) {
      const voters = Array.from({ length: tc.size }, (_, i) => i + 1);
      const n = new TestNode({ id: 1, voters });
      n.raw.campaign();
      n.drain();
      for (const g of tc.grants) n.step({ type: 'voteResp', from: BigInt(g), to: 1n, term: 1, reject: false });
      assert.equal(n.raw.status().role, tc.role, `size ${tc.size} grants ${tc.grants}`);
    }
  });

  it('a candidate that receives rejections from a majority reverts to follower', () => {
    const n = new TestNode({ id: 1, voters: [1, 2, 3] });
    n.raw.campaign();
    n.drain();
    n.step({ type: 'voteResp', from: 2n, to: 1n, term: 1, reject: true });
    n.step({ type: 'voteResp', from: 3n, to: 1n, term: 1, reject: true });
    assert.equal(n.raw.status().role, 'follower');
  });

  it('each server will vote for at most one candidate in a given term, on a first-come-first-served basis', () => {
    const n = new TestNode({ id: 1, voters: [1, 2, 3] });
    n.drain();
    const r1 = ofType(n.step(vote(2, 1, 1, 0, 0)), 'voteResp');
    const r2 = ofType(n.step(vote(3, 1, 1, 0, 0)), 'voteResp');
    const r3 = ofType(n.step(vote(2, 1, 1, 0, 0)), 'voteResp');
    assert.equal(r1[0]!.reject, false);
    assert.equal(r2[0]!.reject, true);
    assert.equal(r3[0]!.reject, false, 'a repeated request from the same candidate is granted again');
  });

  it('while waiting for votes, a candidate that receives AppendEntries from a leader of at least its term returns to follower', () => {
    const n = new TestNode({ id: 1, voters: [1, 2, 3] });
    n.raw.campaign();
    n.drain();
    n.step({ type: 'app', from: 2n, to: 1n, term: 1, index: 0, logTerm: 0, entries: [], commit: 0 });
    assert.equal(n.raw.status().role, 'follower');
    assert.equal(n.raw.status().lead, 2n);
  });

  it('election timeouts are chosen randomly from a fixed interval [electionTick, 2*electionTick)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const n = new TestNode({ id: 1, voters: [1, 2, 3], electionTick: 10, seed });
      n.drain();
      let ticks = 0;
      while (n.raw.status().role === 'follower') {
        n.raw.tick();
        n.drain();
        ticks++;
        assert.ok(ticks < 20, 'campaigned within 2*electionTick');
      }
      assert.ok(ticks >= 10);
      seen.add(ticks);
    }
    assert.ok(seen.size > 5, `timeouts vary (${[...seen].join(',')})`);
  });
});

describe('Raft paper §5.3 log replication', () => {
  it('the leader appends the command to its log, then issues AppendEntries to each of the other servers', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.stabilize();
    const l = c.node(1);
    l.raw.propose(new TextEncoder().encode('cmd'));
    const rd = l.raw.ready();
    assert.equal(rd.entries.length, 1);
    assert.equal(rd.entries[0]!.term, l.term);
    const apps = ofType(rd.messages, 'app');
    assert.deepEqual(apps.map((m) => m.to).sort(), [2n, 3n]);
    assert.ok(apps.every((m) => m.entries.length === 1 && m.entries[0]!.index === rd.entries[0]!.index));
    l.raw.advance(rd);
  });

  it('a log entry is committed once the leader has replicated it on a majority; the leader sends the commit index in later AppendEntries and followers then apply it', () => {
    const c = new Cluster({ voters: 5 });
    c.campaign(1);
    c.stabilize();
    c.isolate(4);
    c.isolate(5);
    c.propose(1, 'x');
    c.stabilize();
    for (const id of [1, 2, 3]) assert.deepEqual(c.node(id).appliedData, ['x'], `node ${id} applied`);
    assert.deepEqual(c.node(4).appliedData, []);
  });

  it('if the follower does not find an entry with the same index and term, it refuses the new entries', () => {
    const n = new TestNode({ id: 2, voters: [1, 2, 3], logTerms: [1, 1, 2], hardState: { term: 2 } });
    n.drain();
    const out = n.step({ type: 'app', from: 1n, to: 2n, term: 3, index: 3, logTerm: 3, entries: [], commit: 3 });
    const resp = ofType(out, 'appResp')[0]!;
    assert.equal(resp.reject, true);
    assert.equal(resp.index, 3);
    // fast back-off hint: the largest index whose term is <= 3, with its term
    assert.deepEqual([resp.rejectHint, resp.logTerm], [3, 2]);
    assert.equal(n.raw.status().commit, 0);
  });

  it('if leaderCommit > commitIndex, a follower sets commitIndex = min(leaderCommit, index of last new entry)', () => {
    // The follower holds a stale tail (3@1) beyond what this append proves.
    const n = new TestNode({ id: 2, voters: [1, 2, 3], logTerms: [1, 1, 1], hardState: { term: 1 } });
    n.drain();
    const e = { term: 2, index: 2, type: 'normal' as const, data: new Uint8Array([2]) };
    n.step({ type: 'app', from: 1n, to: 2n, term: 2, index: 1, logTerm: 1, entries: [e], commit: 3 });
    assert.equal(n.raw.status().commit, 2, 'not 3: entry 3 was not shown to match the leader');
    // A matching prefix without new entries does not let the commit run past it either.
    const m = new TestNode({ id: 2, voters: [1, 2, 3], logTerms: [1, 1, 2], hardState: { term: 2 } });
    m.drain();
    m.step({ type: 'app', from: 1n, to: 2n, term: 3, index: 1, logTerm: 1, entries: [], commit: 3 });
    assert.equal(m.raw.status().commit, 1);
  });

  it('the leader forces the followers\' logs to duplicate its own, in one probe per term of divergence (fast back-off)', () => {
    // idx:      1 2 3 4 5 6 7 8 9
    // leader:   1 3 3 3 5 5 5 5 5
    // follower: 1 1 1 1 2 2
    const leader = new TestNode({ id: 1, voters: [1, 2], logTerms: [1, 3, 3, 3, 5, 5, 5, 5, 5], hardState: { term: 5 } });
    const follower = new TestNode({ id: 2, voters: [1, 2], logTerms: [1, 1, 1, 1, 2, 2], hardState: { term: 5 } });
    leader.drain();
    follower.drain();
    leader.raw.campaign();
    const delivered = pump([leader, follower], leader.drain());
    assert.equal(leader.raw.status().role, 'leader');
    const rejections = ofType(delivered, 'appResp').filter((m) => m.reject);
    assert.equal(rejections.length, 1, 'one rejection, then the hint lands on the matching prefix');
    assert.deepEqual(follower.logTerms(), leader.logTerms());
    assert.deepEqual(leader.logTerms(), [1, 3, 3, 3, 5, 5, 5, 5, 5, 6]);
  });

  it('the follower hint skips a long divergent tail with higher terms (follower-side back-off)', () => {
    // idx:      1 2 3 4 5 6 7 8 9
    // leader:   1 3 3 3 3 3 3 3 7
    // follower: 1 3 3 4 4 5 5 5 6
    const leader = new TestNode({ id: 1, voters: [1, 2], logTerms: [1, 3, 3, 3, 3, 3, 3, 3, 7], hardState: { term: 7 } });
    const follower = new TestNode({ id: 2, voters: [1, 2], logTerms: [1, 3, 3, 4, 4, 5, 5, 5, 6], hardState: { term: 7 } });
    leader.drain();
    follower.drain();
    leader.raw.campaign();
    const delivered = pump([leader, follower], leader.drain());
    const rejections = ofType(delivered, 'appResp').filter((m) => m.reject);
    assert.ok(rejections.length <= 2, `few rejections (${rejections.length})`);
    assert.deepEqual(follower.logTerms(), leader.logTerms());
  });
});

describe('Raft paper §5.4 safety', () => {
  it('§5.4.1 a voter denies its vote if its own log is more up-to-date than that of the candidate', () => {
    const cases = [
      { index: 3, logTerm: 2, granted: true }, // same last entry
      { index: 2, logTerm: 2, granted: false }, // shorter, same last term
      { index: 9, logTerm: 1, granted: false }, // longer, lower last term
      { index: 1, logTerm: 3, granted: true }, // shorter, higher last term
    ];
    for (const tc of cases) {
      const n = new TestNode({ id: 1, voters: [1, 2, 3], logTerms: [1, 2, 2], hardState: { term: 2 } });
      n.drain();
      const r = ofType(n.step(vote(2, 1, 3, tc.index, tc.logTerm)), 'voteResp')[0]!;
      assert.equal(!r.reject, tc.granted, JSON.stringify(tc));
    }
  });

  it('§5.4.2 (Figure 8) a leader never commits entries from previous terms by counting replicas', () => {
    // Node 1 leads term 2 and appends x without replicating it.
    const c = new Cluster({ voters: 3, maxSizePerMsg: 1 });
    c.campaign(1);
    c.stabilize();
    c.isolate(1);
    c.propose(1, 'x');
    c.stabilize();
    const xIndex = c.node(1).storage.lastIndex();
    // Node 2 wins term 3 with node 3's vote, but its appends never arrive.
    c.filter = (m) => !(m.type === 'app' && m.from === 2n);
    c.campaign(2);
    c.stabilize();
    assert.equal(c.node(2).role, 'leader');
    assert.equal(c.node(2).term, 3);
    // Node 1 hears of term 3 and wins term 4 with node 3 (its log, ending in x@2, is up to date).
    c.heal();
    c.isolate(2);
    c.node(1).raw.step({ type: 'heartbeat', from: 2n, to: 1n, term: 3, commit: 0, context: null });
    c.process(c.node(1));
    // x@2 may reach node 3 (one entry per message); the term-4 no-op may not, once x is there.
    c.filter = (m) => !(m.type === 'app' && m.entries.some((e) => e.term === 4) && c.node(3).storage.lastIndex() >= xIndex);
    c.campaign(1);
    c.stabilize();
    c.tickAll(3);
    assert.equal(c.node(1).role, 'leader');
    assert.equal(c.node(1).term, 4);
    assert.equal(c.node(3).storage.term(xIndex), 2, 'x is on a majority (nodes 1 and 3)');
    assert.ok(c.node(1).commit < xIndex, 'but it is not committed by counting replicas');
    c.filter = null;
    c.tickAll(3);
    assert.ok(c.node(1).commit >= xIndex + 1, 'committing the term-4 entry commits x too');
    assert.deepEqual(c.node(3).appliedData, ['x']);
  });
});
