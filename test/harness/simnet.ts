// Deterministic simulation of a Keyward raft cluster, for the raft core's tests.
//
// Every node is a RawNode over a MemoryStorage, driven by a model driver. The
// MemoryStorage is the node's disk: a crash discards the RawNode and everything
// not yet written there, a restart builds a new RawNode from it. Each node has
// one of two drivers (chosen per node by the seed):
//  - sync: each Ready in the documented order (persist -> send -> apply -> advance);
//  - pipelined (RawNode.accept/persisted): the Ready is accepted and its write
//    queued "in flight" (not yet on the disk); a leader sends its messages at
//    once, anyone else holds them; committed entries are applied; more Readies
//    follow. At a later seed-chosen step the queued writes reach the disk in
//    order, each followed by persisted() and the messages it held. A crash
//    loses every write still in flight and the messages held with it. Applying
//    an entry whose log write is in flight matches a store that orders the
//    apply after the log write: the applied state is volatile here and becomes
//    durable only through a snapshot, which is queued behind the log writes
//    like any other write, so a crash loses both or neither.
// The network delivers, drops, delays, duplicates and reorders messages and can
// be partitioned, all driven by one seeded PRNG: a seed reproduces a run exactly.
//
// Safety invariants are checked on every Ready a node produces (see Checker):
// a violation throws SimViolation naming the seed.

import {
  MemoryStorage,
  RawNode,
  decodeConfChange,
  encodeConfChange,
  isRaftError,
  NONE,
} from '../../src/raft/index.js';
import type { ConfChange, ConfState, Entry, HardState, Logger, Message, NodeId, RaftRole, ReadState, Ready, Snapshot } from '../../src/raft/index.js';

// ---- PRNG --------------------------------------------------------------------

/** mulberry32: tiny, fast, good enough for schedules; fully determined by the seed. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from empty list');
    return xs[this.int(xs.length)]!;
  }
}

// ---- small helpers -------------------------------------------------------------

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function bytesKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function entryKey(e: Entry): string {
  return (e.type === 'normal' ? 'n' : 'c') + bytesKey(e.data);
}

/** FNV-1a style rolling digest of the applied sequence: the "state machine". */
function mix(h: number, x: number): number {
  h ^= x;
  return Math.imul(h, 16777619) >>> 0;
}
function digestEntry(h: number, e: Entry): number {
  h = mix(h, e.index);
  h = mix(h, e.term);
  h = mix(h, e.type === 'normal' ? 1 : 2);
  for (let i = 0; i < e.data.length; i++) h = mix(h, e.data[i]!);
  return h;
}

function encodeSnapData(index: number, digest: number): Uint8Array {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setFloat64(0, index);
  dv.setUint32(8, digest);
  return b;
}
function decodeSnapData(b: Uint8Array): { index: number; digest: number } {
  if (b.length !== 12) return { index: 0, digest: 2166136261 };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { index: dv.getFloat64(0), digest: dv.getUint32(8) };
}

const INITIAL_DIGEST = 2166136261;

export class SimViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimViolation';
  }
}

// ---- invariants ------------------------------------------------------------------

interface CommittedRec {
  readonly term: number;
  readonly key: string;
  /** Lowest term in which some node was seen holding this entry as committed. */
  commitTerm: number;
}

/**
 * Global safety checks, fed by the driver. All are incremental so they can
 * run on every Ready:
 *  - election safety: at most one leader per term;
 *  - vote safety (L12): a voter grants (sends) at most one vote per term;
 *  - log matching: an (index, term) names one entry with one predecessor term;
 *  - leader completeness: a new leader holds every entry committed in earlier terms;
 *  - state machine safety: no two nodes apply different entries (or reach a
 *    different state digest) at the same index;
 *  - a node's persisted commit index never decreases, in-memory commit neither;
 *  - applied entries are committed (index <= the node's commit, matching the committed entry);
 *  - ReadIndex: a read point is >= every index known committed when the read was issued.
 */
export class Checker {
  readonly leaders = new Map<number, NodeId>();
  private readonly votes = new Map<string, NodeId>();
  private readonly entries = new Map<string, { key: string; prevTerm: number | undefined }>();
  readonly committed = new Map<number, CommittedRec>();
  maxCommitted = 0;
  private readonly digests = new Map<number, number>();
  private readonly readsIssued = new Map<string, number>();
  violations = 0;

  constructor(private readonly label: string) {}

  fail(msg: string): never {
    this.violations++;
    throw new SimViolation(`${this.label}: ${msg}`);
  }

  onLeader(id: NodeId, term: number): void {
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) this.fail(`two leaders in term ${term}: ${prev} and ${id}`);
    this.leaders.set(term, id);
  }

  onSend(m: Message): void {
    if (m.type === 'voteResp' && !m.reject) {
      const k = `${m.from}:${m.term}`;
      const prev = this.votes.get(k);
      if (prev !== undefined && prev !== m.to) this.fail(`L12 node ${m.from} granted two votes in term ${m.term}: ${prev} and ${m.to}`);
      this.votes.set(k, m.to);
    }
  }

  /** Entries just persisted by `id`, with the storage they were written to. */
  onPersist(id: NodeId, ents: readonly Entry[], storage: MemoryStorage): void {
    for (const e of ents) {
      let prevTerm: number | undefined;
      try {
        prevTerm = e.index > 1 ? storage.term(e.index - 1) : 0;
      } catch {
        prevTerm = undefined; // compacted: not checkable
      }
      const k = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const rec = this.entries.get(k);
      if (rec === undefined) {
        this.entries.set(k, { key, prevTerm });
        continue;
      }
      if (rec.key !== key) this.fail(`log matching: node ${id} holds a different entry at ${k}`);
      if (rec.prevTerm !== undefined && prevTerm !== undefined && rec.prevTerm !== prevTerm) {
        this.fail(`log matching: node ${id} has term ${prevTerm} before ${k}, another node ${rec.prevTerm}`);
      }
      if (rec.prevTerm === undefined) rec.prevTerm = prevTerm;
    }
  }

  /** `id` (at `term`) holds entries up to `commit` as committed; `lookup` reads its log. */
  onCommit(id: NodeId, fromExcl: number, commit: number, term: number, lookup: (i: number) => Entry | undefined): void {
    for (let i = fromExcl + 1; i <= commit; i++) {
      const e = lookup(i);
      if (e === undefined) continue; // inside a snapshot
      this.recordCommitted(id, e, term);
    }
  }

  private recordCommitted(id: NodeId, e: Entry, term: number): void {
    const rec = this.committed.get(e.index);
    const key = entryKey(e);
    if (rec === undefined) {
      this.committed.set(e.index, { term: e.term, key, commitTerm: term });
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
      return;
    }
    if (rec.term !== e.term || rec.key !== key) {
      this.fail(`state machine safety: node ${id} committed ${e.index}/${e.term}, but ${e.index}/${rec.term} was committed before`);
    }
    if (term < rec.commitTerm) rec.commitTerm = term;
  }

  onApply(id: NodeId, e: Entry, commit: number, term: number, digestAfter: number): void {
    if (e.index > commit) this.fail(`node ${id} applied ${e.index} beyond its commit ${commit}`);
    this.recordCommitted(id, e, term);
    this.onDigest(id, e.index, digestAfter);
  }

  onDigest(id: NodeId, index: number, digest: number): void {
    const d = this.digests.get(index);
    if (d === undefined) this.digests.set(index, digest);
    else if (d !== digest) this.fail(`state machine safety: node ${id} state at ${index} differs from another node's`);
  }

  /** `id` just became leader of `term`; `lookup` reads its (fully persisted) log. */
  onNewLeader(id: NodeId, term: number, firstIndex: number, lookup: (i: number) => Entry | undefined): void {
    for (let i = this.maxCommitted; i >= firstIndex; i--) {
      const rec = this.committed.get(i);
      if (rec === undefined || rec.commitTerm >= term) continue;
      const e = lookup(i);
      if (e === undefined || e.term !== rec.term || entryKey(e) !== rec.key) {
        this.fail(`leader completeness: leader ${id} of term ${term} lacks committed entry ${i}/${rec.term}`);
      }
      return; // log matching covers everything before it
    }
  }

  onReadIssued(ctx: Uint8Array): void {
    this.readsIssued.set(bytesKey(ctx), this.maxCommitted);
  }

  onReadState(id: NodeId, rs: ReadState): void {
    const min = this.readsIssued.get(bytesKey(rs.requestCtx));
    if (min === undefined) return; // not issued through the cluster helper
    if (rs.index < min) this.fail(`L6 stale read: node ${id} got read index ${rs.index} < ${min} committed before the read was issued`);
  }
}

// ---- nodes ---------------------------------------------------------------------

/**
 * Where an armed crash hits the next Ready (or, for 'afterDurable', the next flush).
 * Sync driver: before persisting, after persisting (before sending), after sending (before applying).
 * Pipelined driver: 'beforePersist' (before accept), 'afterAccept' (leader messages sent, committed
 * entries applied, the write still in flight), 'afterDurable' (a queued write reached the disk;
 * persisted() not called, its held messages not sent).
 */
export type CrashPoint = 'beforePersist' | 'afterPersist' | 'afterSend' | 'afterAccept' | 'afterDurable';

export const SYNC_CRASH_POINTS: readonly CrashPoint[] = ['beforePersist', 'afterPersist', 'afterSend'];
export const PIPELINED_CRASH_POINTS: readonly CrashPoint[] = ['beforePersist', 'afterAccept', 'afterDurable'];

/** A write the pipelined driver has started and the disk does not hold yet. */
type PendingWrite =
  | { readonly kind: 'ready'; readonly rd: Ready; readonly held: readonly Message[] }
  | { readonly kind: 'snapshot'; readonly index: number; readonly confState: ConfState; readonly data: Uint8Array };

export class SimNode {
  raw: RawNode;
  up = true;
  /** Shut down for good after its removal from the cluster was committed. */
  removed = false;
  /** Volatile state machine, rebuilt from the snapshot on restart. */
  applied = 0;
  digest = INITIAL_DIGEST;
  confState: ConfState = { voters: [], learners: [] };
  /** Payloads of applied normal entries, in order (since the last restore). */
  appliedData: string[] = [];
  readStates: ReadState[] = [];
  /** Term and commit as the node knows them (its latest Ready); persisted* are what the disk holds. */
  term = 0;
  commit = 0;
  persistedCommit = 0;
  persistedTerm = 0;
  lead: NodeId = NONE;
  role: RaftRole = 'follower';
  /** Armed crash: the next Ready is handled only up to this point, then the node crashes. */
  crashAt: CrashPoint | null = null;
  /**
   * Test hook: when true, the driver sends messages BEFORE persisting (a deliberately broken
   * driver); a pipelined one sends every message at accept, not only a leader's.
   */
  sendBeforePersist = false;
  tickPhase = 0;
  /** Driver: accept/persisted with writes in flight, instead of one synchronous write per Ready. */
  readonly pipelined: boolean;
  /** Pipelined driver: per-ms chance that queued writes reach the disk. */
  readonly flushChance: number;
  /** Pipelined driver: writes in flight, oldest first. */
  pending: PendingWrite[] = [];
  /** Highest snapshot index the disk will hold once the writes in flight land. */
  pendingSnapIndex = 0;

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    raw: RawNode,
    driver: { pipelined: boolean; flushChance: number } = { pipelined: false, flushChance: 1 },
  ) {
    this.raw = raw;
    this.pipelined = driver.pipelined;
    this.flushChance = driver.flushChance;
  }

  /** The crash points that apply to this node's driver. */
  crashPoints(): readonly CrashPoint[] {
    return this.pipelined ? PIPELINED_CRASH_POINTS : SYNC_CRASH_POINTS;
  }
}

export interface ClusterOptions {
  seed?: number;
  /** Founding voters, IDs 1..voters. */
  voters?: number;
  /** Founding learners, IDs after the voters. */
  learners?: number;
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  maxUncommittedEntriesSize?: number;
  /** The driver snapshots every this many applied entries (0: never). */
  snapshotEvery?: number;
  /** Entries kept behind a snapshot when compacting. */
  keepLogTail?: number;
  /**
   * Chance that a node gets the pipelined driver (accept/persisted) instead of the sync one;
   * drawn per node from a PRNG of its own, so the schedule of an all-sync run does not change.
   */
  pipelined?: number;
  /** Print raft logs (debugging a seed). */
  verbose?: boolean;
}

interface Envelope {
  readonly m: Message;
  readonly at: number;
}

export interface NetPolicy {
  dropRate: number;
  dupRate: number;
  minDelay: number;
  maxDelay: number;
}

const INSTANT: NetPolicy = { dropRate: 0, dupRate: 0, minDelay: 0, maxDelay: 0 };

/**
 * A cluster plus network. Two ways to drive it:
 *  - scripted: tick/campaign/propose, then `stabilize()` delivers every queued
 *    message in order (instant network) until nothing is left;
 *  - timed: `runFor(ms)` advances a clock; nodes tick every `tickMs`, and
 *    messages arrive after the policy's delay (see `net`).
 */
export class Cluster {
  readonly rng: Prng;
  /** Driver choices and disk timing of pipelined nodes; separate so sync-only runs keep their schedule. */
  private readonly driverRng: Prng;
  readonly checker: Checker;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly opts: Required<Omit<ClusterOptions, 'seed'>> & { seed: number };
  net: NetPolicy = { ...INSTANT };
  /** Directed links that drop everything: `${from}>${to}`. */
  readonly blocked = new Set<string>();
  /** Extra per-message filter for scripted tests (return false to drop). */
  filter: ((m: Message) => boolean) | null = null;
  /** Scripted mode: stabilize() lets queued writes of pipelined nodes reach the disk once the network is quiet. */
  autoFlush = true;
  /** Scripted tests: matching messages are parked in `held` (a very slow link; nothing is reported). */
  hold: ((m: Message) => boolean) | null = null;
  held: Message[] = [];
  now = 0;
  readonly tickMs = 10;
  private queue: Envelope[] = [];
  private readonly buckets = new Map<number, Message[]>();
  private nextId: bigint;
  private readCounter = 0;
  stats = {
    delivered: 0,
    dropped: 0,
    readies: 0,
    elections: 0,
    crashes: 0,
    snapshotsSent: 0,
    confChanges: 0,
    /** Pipelined driver: Readies accepted while an earlier write was still in flight. */
    pipelinedReadies: 0,
    /** Pipelined driver: writes in flight that a crash discarded. */
    lostWrites: 0,
    /** Entries applied (from writes in flight) that a crash then undid. */
    undoneApplies: 0,
  };

  constructor(options: ClusterOptions = {}) {
    this.opts = {
      seed: options.seed ?? 1,
      voters: options.voters ?? 3,
      learners: options.learners ?? 0,
      electionTick: options.electionTick ?? 10,
      heartbeatTick: options.heartbeatTick ?? 1,
      preVote: options.preVote ?? false,
      checkQuorum: options.checkQuorum ?? false,
      maxSizePerMsg: options.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: options.maxInflightMsgs ?? 256,
      maxUncommittedEntriesSize: options.maxUncommittedEntriesSize ?? 0,
      snapshotEvery: options.snapshotEvery ?? 0,
      keepLogTail: options.keepLogTail ?? 5,
      pipelined: options.pipelined ?? 0,
      verbose: options.verbose ?? false,
    };
    this.rng = new Prng(this.opts.seed);
    this.driverRng = new Prng(this.opts.seed ^ 0x85ebca6b);
    this.checker = new Checker(`seed ${this.opts.seed}`);
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (let i = 1; i <= this.opts.voters; i++) voters.push(BigInt(i));
    for (let i = 1; i <= this.opts.learners; i++) learners.push(BigInt(this.opts.voters + i));
    this.nextId = BigInt(this.opts.voters + this.opts.learners + 1);
    for (const id of [...voters, ...learners]) {
      const n = this.createNode(id);
      n.raw.bootstrap(voters, learners);
    }
    for (const n of this.nodes.values()) this.process(n);
  }

  // ---- construction / restart ---------------------------------------------------

  private logger(id: NodeId): Logger {
    if (!this.opts.verbose) return { debug() {}, info() {}, warn() {}, error() {} };
    const p = (lvl: string) => (msg: string) => console.log(`[t=${this.now}] ${lvl} ${id}: ${msg}`);
    return { debug() {}, info: p('I'), warn: p('W'), error: p('E') };
  }

  private newRaw(id: NodeId, storage: MemoryStorage, applied: number): RawNode {
    return new RawNode({
      id,
      storage,
      applied,
      electionTick: this.opts.electionTick,
      heartbeatTick: this.opts.heartbeatTick,
      preVote: this.opts.preVote,
      checkQuorum: this.opts.checkQuorum,
      maxSizePerMsg: this.opts.maxSizePerMsg,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      maxUncommittedEntriesSize: this.opts.maxUncommittedEntriesSize,
      randomInt: (n) => this.rng.int(n),
      logger: this.logger(id),
    });
  }

  private createNode(id: NodeId): SimNode {
    const storage = new MemoryStorage();
    const rate = this.opts.pipelined;
    const pipelined = rate >= 1 || (rate > 0 && this.driverRng.chance(rate));
    const flushChance = pipelined ? this.driverRng.pick([0.1, 0.3, 0.7]) : 1;
    const n = new SimNode(id, storage, this.newRaw(id, storage, 0), { pipelined, flushChance });
    n.tickPhase = this.rng.int(this.tickMs);
    this.nodes.set(id, n);
    return n;
  }

  /** A brand-new empty member (not yet in the configuration). */
  addEmptyNode(): SimNode {
    const id = this.nextId++;
    const n = this.createNode(id);
    this.process(n);
    return n;
  }

  node(id: NodeId | number): SimNode {
    const n = this.nodes.get(BigInt(id));
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /**
   * Crash: the RawNode and the volatile state machine are gone; storage (the disk) stays.
   * Writes still in flight never reach it, and the messages they held are never sent.
   */
  crash(id: NodeId | number): void {
    const n = this.node(id);
    if (!n.up) return;
    n.up = false;
    n.crashAt = null;
    this.stats.crashes++;
    this.discardPending(n);
  }

  private discardPending(n: SimNode): void {
    for (const w of n.pending) if (w.kind === 'ready') this.stats.lostWrites++;
    const durableLast = n.storage.lastIndex();
    if (n.applied > durableLast) this.stats.undoneApplies += n.applied - durableLast;
    n.pending = [];
    n.pendingSnapIndex = 0;
  }

  /** Restart from what the driver persisted. */
  restart(id: NodeId | number): void {
    const n = this.node(id);
    if (n.up || n.removed) return;
    const snap = n.storage.snapshot();
    const hs = n.storage.hardStateSaved();
    n.raw = this.newRaw(n.id, n.storage, snap.metadata.index);
    n.up = true;
    const sd = decodeSnapData(snap.data);
    n.applied = snap.metadata.index;
    n.digest = snap.metadata.index === 0 ? INITIAL_DIGEST : sd.digest;
    n.confState = snap.metadata.confState;
    n.appliedData = [];
    n.term = hs.term;
    n.commit = hs.commit;
    n.lead = NONE;
    n.role = 'follower';
    this.process(n);
  }

  // ---- the driver ------------------------------------------------------------------

  private lookup(n: SimNode): (i: number) => Entry | undefined {
    return (i) => {
      if (i < n.storage.firstIndex() || i > n.storage.lastIndex()) return undefined;
      return n.storage.entries(i, i + 1, Infinity)[0];
    };
  }

  /** The log as raft sees it: the disk with the writes in flight laid over it, in order. */
  private logView(n: SimNode): { first: number; lookup: (i: number) => Entry | undefined } {
    const disk = this.lookup(n);
    if (n.pending.length === 0) return { first: n.storage.firstIndex(), lookup: disk };
    let useDisk = true;
    let first = n.storage.firstIndex();
    let last = n.storage.lastIndex();
    const over = new Map<number, Entry>();
    for (const w of n.pending) {
      if (w.kind !== 'ready') continue;
      if (w.rd.snapshot !== null) {
        useDisk = false;
        over.clear();
        first = w.rd.snapshot.metadata.index + 1;
        last = w.rd.snapshot.metadata.index;
      }
      if (w.rd.entries.length === 0) continue;
      const lastNew = w.rd.entries[w.rd.entries.length - 1]!.index;
      // An append replaces everything from its first entry on (MemoryStorage.append).
      for (const k of [...over.keys()]) if (k > lastNew) over.delete(k);
      for (const e of w.rd.entries) if (e.index >= first) over.set(e.index, e);
      last = lastNew;
    }
    const lookup = (i: number): Entry | undefined => {
      if (i < first || i > last) return undefined;
      return over.get(i) ?? (useDisk ? disk(i) : undefined);
    };
    return { first, lookup };
  }

  /** Handles every Ready of `n` with the node's driver. */
  process(n: SimNode): void {
    if (n.pipelined) this.processPipelined(n);
    else this.processSync(n);
  }

  /** Sync driver: persist -> send -> apply -> advance, one Ready at a time. */
  private processSync(n: SimNode): void {
    while (n.up && n.raw.hasReady()) {
      const rd = n.raw.ready();
      this.stats.readies++;
      if (n.crashAt !== null && !SYNC_CRASH_POINTS.includes(n.crashAt)) throw new TypeError(`crash point ${n.crashAt} needs the pipelined driver`);
      if (n.sendBeforePersist) {
        // The broken driver: messages out first; a crash now loses what they vouch for.
        this.sendAll(rd.messages);
        if (n.crashAt === 'afterSend') return this.crash(n.id);
      }
      if (n.crashAt === 'beforePersist') return this.crash(n.id);
      this.persist(n, rd);
      this.noteReady(n, rd);
      if (n.crashAt === 'afterPersist') return this.crash(n.id);
      if (!n.sendBeforePersist) this.sendAll(rd.messages);
      if (n.crashAt === 'afterSend') return this.crash(n.id);
      this.apply(n, rd);
      n.raw.advance(rd);
      this.maybeSnapshot(n);
    }
  }

  /**
   * Pipelined driver: accept each Ready and queue its write; a leader's messages go now, anyone
   * else's wait for the write (flush). Committed entries are applied in Ready order.
   */
  private processPipelined(n: SimNode): void {
    while (n.up && n.raw.hasReady()) {
      const rd = n.raw.ready();
      this.stats.readies++;
      if (n.crashAt !== null && !PIPELINED_CRASH_POINTS.includes(n.crashAt)) throw new TypeError(`crash point ${n.crashAt} needs the sync driver`);
      if (n.crashAt === 'beforePersist') return this.crash(n.id);
      if (n.raw.inFlightCount > 0) this.stats.pipelinedReadies++;
      n.raw.accept(rd);
      // The role after this Ready: a leader's messages vouch for nothing it has not persisted.
      const early = (rd.softState?.role ?? n.role) === 'leader' || n.sendBeforePersist;
      n.pending.push({ kind: 'ready', rd, held: early ? [] : rd.messages });
      if (rd.snapshot !== null) n.pendingSnapIndex = Math.max(n.pendingSnapIndex, rd.snapshot.metadata.index);
      this.noteReady(n, rd);
      if (early) this.sendAll(rd.messages);
      this.apply(n, rd);
      if (!n.up) return; // removed by a conf change it applied
      if (n.crashAt === 'afterAccept') return this.crash(n.id);
      this.maybeSnapshot(n);
    }
  }

  /**
   * Pipelined driver: the oldest `count` writes in flight reach the disk, in order; after each,
   * persisted() and the messages it held. Then the node handles what that made ready.
   */
  flush(id: NodeId | number, count = Infinity): void {
    const n = this.node(id);
    for (let done = 0; n.up && n.pending.length > 0 && done < count; done++) {
      const w = n.pending.shift()!;
      if (w.kind === 'snapshot') {
        this.writeSnapshot(n, w.index, w.confState, w.data);
        continue;
      }
      this.persist(n, w.rd);
      if (n.crashAt === 'afterDurable') return this.crash(n.id);
      n.raw.persisted(w.rd);
      this.sendAll(w.held);
    }
    if (n.pending.length === 0) n.pendingSnapIndex = 0;
    this.process(n);
  }

  /** What a Ready tells the driver at once, before any of it is durable: the node's role, term and commit. */
  private noteReady(n: SimNode, rd: Ready): void {
    if (rd.hardState !== null) {
      const hs = rd.hardState;
      if (hs.commit < n.commit) this.checker.fail(`node ${n.id} commit went back from ${n.commit} to ${hs.commit}`);
      if (hs.term < n.term) this.checker.fail(`node ${n.id} term went back from ${n.term} to ${hs.term}`);
      n.term = hs.term;
      n.commit = hs.commit;
    }
    if (rd.softState !== null) {
      n.lead = rd.softState.lead;
      n.role = rd.softState.role;
      if (n.role === 'leader') {
        this.stats.elections++;
        this.checker.onLeader(n.id, n.term);
        // Its log as raft sees it: a pipelined leader may still be writing part of it.
        const view = this.logView(n);
        this.checker.onNewLeader(n.id, n.term, view.first, view.lookup);
      }
    }
  }

  /** Writes a Ready's snapshot, entries and hard state to the disk. */
  private persist(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== null) n.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      n.storage.append(rd.entries);
      this.checker.onPersist(n.id, rd.entries, n.storage);
    }
    if (rd.hardState !== null) this.persistHardState(n, rd.hardState);
  }

  private persistHardState(n: SimNode, hs: HardState): void {
    if (hs.commit < n.persistedCommit) this.checker.fail(`node ${n.id} persisted commit went back from ${n.persistedCommit} to ${hs.commit}`);
    if (hs.term < n.persistedTerm) this.checker.fail(`node ${n.id} persisted term went back from ${n.persistedTerm} to ${hs.term}`);
    const from = n.persistedCommit;
    n.storage.setHardState(hs);
    n.persistedTerm = hs.term;
    n.persistedCommit = hs.commit;
    if (hs.commit > from) this.checker.onCommit(n.id, Math.max(from, n.storage.firstIndex() - 1), hs.commit, hs.term, this.lookup(n));
  }

  private sendAll(msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.checker.onSend(m);
      if (m.type === 'snap') this.stats.snapshotsSent++;
      this.send(m);
    }
  }

  private apply(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== null) {
      const sd = decodeSnapData(rd.snapshot.data);
      n.applied = rd.snapshot.metadata.index;
      n.digest = sd.digest;
      n.confState = rd.snapshot.metadata.confState;
      n.appliedData = [];
      this.checker.onDigest(n.id, n.applied, n.digest);
    }
    for (const e of rd.committedEntries) {
      if (e.index !== n.applied + 1) this.checker.fail(`node ${n.id} applies ${e.index} after ${n.applied}`);
      n.digest = digestEntry(n.digest, e);
      n.applied = e.index;
      this.checker.onApply(n.id, e, n.commit, n.term, n.digest);
      if (e.type === 'confChange') {
        const cc = decodeConfChange(e.data);
        n.confState = n.raw.applyConfChange(cc);
        this.onConfChangeApplied(cc);
      } else if (e.data.length > 0) {
        n.appliedData.push(dec(e.data));
      }
    }
    for (const rs of rd.readStates) {
      this.checker.onReadState(n.id, rs);
      n.readStates.push(rs);
    }
  }

  /** A committed removal shuts the removed member down (as etcd members do). */
  private onConfChangeApplied(cc: ConfChange): void {
    if (cc.type !== 'removeNode') return;
    const victim = this.nodes.get(cc.nodeId);
    if (victim === undefined || victim.removed) return;
    victim.removed = true;
    victim.up = false;
    victim.pending = []; // shut down for good: nothing of it is read again
  }

  /**
   * Saves the state machine every `snapshotEvery` applied entries and compacts the log. The
   * pipelined driver queues it behind the writes in flight: it may cover entries applied from
   * them, so it must not reach the disk before they do.
   */
  private maybeSnapshot(n: SimNode): void {
    const every = this.opts.snapshotEvery;
    if (every <= 0) return;
    const snapIndex = Math.max(n.storage.snapshot().metadata.index, n.pendingSnapIndex);
    if (n.applied - snapIndex < every) return;
    const data = encodeSnapData(n.applied, n.digest);
    if (n.pending.length === 0) {
      this.writeSnapshot(n, n.applied, n.confState, data);
      return;
    }
    n.pending.push({ kind: 'snapshot', index: n.applied, confState: n.confState, data });
    n.pendingSnapIndex = n.applied;
  }

  private writeSnapshot(n: SimNode, index: number, confState: ConfState, data: Uint8Array): void {
    n.storage.createSnapshot(index, confState, data);
    const compactTo = index - this.opts.keepLogTail;
    if (compactTo > n.storage.firstIndex() - 1) n.storage.compact(compactTo);
  }

  // ---- network -------------------------------------------------------------------

  private linkOpen(from: NodeId, to: NodeId): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }

  /**
   * The transport reports the fate of a snapshot to its sender, as the Ready
   * contract requires; otherwise a lost snapshot leaves the follower paused.
   * Called from inside the sender's Ready loop or after delivery; stepping a
   * RawNode between ready() and advance() is allowed.
   */
  private reportSnap(m: Message, ok: boolean, inSenderLoop: boolean): void {
    if (m.type !== 'snap') return;
    const sender = this.nodes.get(m.from);
    if (sender === undefined || !sender.up) return;
    sender.raw.reportSnapshot(m.to, ok ? 'finish' : 'failure');
    if (!inSenderLoop) this.process(sender);
  }

  private send(m: Message): void {
    if (this.hold !== null && this.hold(m)) {
      this.held.push(m);
      return;
    }
    if (!this.linkOpen(m.from, m.to) || (this.filter !== null && !this.filter(m))) {
      this.stats.dropped++;
      this.reportSnap(m, false, true);
      return;
    }
    const p = this.net;
    if (p.maxDelay === 0) {
      this.queue.push({ m, at: this.now });
      return;
    }
    if (this.rng.chance(p.dropRate)) {
      this.stats.dropped++;
      this.reportSnap(m, false, true);
      return;
    }
    const copies = this.rng.chance(p.dupRate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const at = this.now + p.minDelay + this.rng.int(p.maxDelay - p.minDelay + 1);
      const b = this.buckets.get(at);
      if (b === undefined) this.buckets.set(at, [m]);
      else b.push(m);
    }
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    // A partition made while the message was in flight cuts it too.
    if (n === undefined || !n.up || !this.linkOpen(m.from, m.to)) {
      this.stats.dropped++;
      this.reportSnap(m, false, false);
      return;
    }
    this.stats.delivered++;
    try {
      n.raw.step(m);
    } catch (e) {
      // A response from a node no longer in our config is expected after removals.
      if (!isRaftError(e, 'StepPeerNotFound')) throw e;
    }
    this.process(n);
    this.reportSnap(m, true, false);
  }

  /**
   * Scripted mode: deliver queued messages in send order until none are left; with `autoFlush`,
   * whenever the network is quiet, the writes in flight of pipelined nodes reach the disk.
   */
  stabilize(maxMessages = 100_000): void {
    let count = 0;
    for (;;) {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        for (const env of batch) {
          if (++count > maxMessages) throw new Error('stabilize: too many messages (livelock?)');
          this.deliver(env.m);
        }
      }
      if (!this.autoFlush) return;
      const writing = [...this.nodes.values()].filter((n) => n.up && n.pending.length > 0);
      if (writing.length === 0) return;
      for (const n of writing) this.flush(n.id);
    }
  }

  /** Drops everything queued (scripted mode). */
  dropQueued(): Message[] {
    const q = this.queue.map((e) => e.m);
    this.queue = [];
    return q;
  }

  /** Messages queued and not yet delivered (scripted mode). */
  queued(): readonly Message[] {
    return this.queue.map((e) => e.m);
  }

  isolate(id: NodeId | number): void {
    const x = BigInt(id);
    for (const other of this.nodes.keys()) {
      if (other === x) continue;
      this.blocked.add(`${x}>${other}`);
      this.blocked.add(`${other}>${x}`);
    }
  }

  /** Symmetric partition into groups; nodes in no group are isolated. */
  partition(...groups: (NodeId | number)[][]): void {
    this.blocked.clear();
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(BigInt(id), i)));
    for (const a of this.nodes.keys()) {
      for (const b of this.nodes.keys()) {
        if (a === b) continue;
        const ga = groupOf.get(a);
        if (ga === undefined || ga !== groupOf.get(b)) this.blocked.add(`${a}>${b}`);
      }
    }
  }

  /** One-way cut: messages from `from` to `to` are dropped. */
  cut(from: NodeId | number, to: NodeId | number): void {
    this.blocked.add(`${BigInt(from)}>${BigInt(to)}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  // ---- inputs ---------------------------------------------------------------------

  tick(id: NodeId | number, times = 1): void {
    const n = this.node(id);
    for (let i = 0; i < times && n.up; i++) {
      n.raw.tick();
      this.process(n);
    }
  }

  /** Ticks every live node `times` times, stabilizing after each round (scripted mode). */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const n of this.liveNodes()) this.tick(n.id);
      this.stabilize();
    }
  }

  campaign(id: NodeId | number): void {
    const n = this.node(id);
    n.raw.campaign();
    this.process(n);
  }

  /** Returns false if the proposal was dropped immediately. */
  propose(id: NodeId | number, data: string): boolean {
    const n = this.node(id);
    if (!n.up) return false;
    try {
      n.raw.propose(enc(data));
    } catch (e) {
      if (isRaftError(e, 'ProposalDropped')) return false;
      throw e;
    }
    this.process(n);
    return true;
  }

  proposeConfChange(id: NodeId | number, cc: Omit<ConfChange, 'context'>): boolean {
    const n = this.node(id);
    if (!n.up) return false;
    try {
      n.raw.proposeConfChange({ ...cc, context: new Uint8Array(0) });
    } catch (e) {
      if (isRaftError(e, 'ProposalDropped')) return false;
      throw e;
    }
    this.stats.confChanges++;
    this.process(n);
    return true;
  }

  /** Issues a ReadIndex with a fresh context; returns the context. */
  readIndex(id: NodeId | number): Uint8Array {
    const n = this.node(id);
    const ctx = enc(`read-${this.readCounter++}`);
    this.checker.onReadIssued(ctx);
    if (!n.up) return ctx;
    n.raw.readIndex(ctx);
    this.process(n);
    return ctx;
  }

  transferLeader(id: NodeId | number, to: NodeId | number): void {
    const n = this.node(id);
    n.raw.transferLeader(BigInt(to));
    this.process(n);
  }

  liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** The live node that believes it leads with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.liveNodes()) if (n.role === 'leader' && (best === undefined || n.term > best.term)) best = n;
    return best;
  }

  // ---- timed mode -------------------------------------------------------------------

  /** Advances the clock one millisecond: deliver due messages, then tick nodes whose tick is due. */
  step(): void {
    this.now++;
    const due = this.buckets.get(this.now);
    if (due !== undefined) {
      this.buckets.delete(this.now);
      for (const m of due) this.deliver(m);
    }
    for (const n of this.nodes.values()) {
      if (n.up && (this.now + n.tickPhase) % this.tickMs === 0) {
        n.raw.tick();
        this.process(n);
      }
    }
    // The disks of pipelined nodes: some of the writes in flight land, oldest first.
    for (const n of this.nodes.values()) {
      if (!n.up || n.pending.length === 0 || !this.driverRng.chance(n.flushChance)) continue;
      this.flush(n.id, 1 + this.driverRng.int(n.pending.length));
    }
  }

  runFor(ms: number): void {
    for (let i = 0; i < ms; i++) this.step();
  }

  /** Runs until `pred` holds, up to `ms`; returns whether it held. */
  runUntil(pred: () => boolean, ms: number): boolean {
    for (let i = 0; i < ms; i++) {
      if (pred()) return true;
      this.step();
    }
    return pred();
  }

  inFlight(): number {
    let c = this.queue.length;
    for (const b of this.buckets.values()) c += b.length;
    return c;
  }

  snapshotOf(id: NodeId | number): Snapshot {
    return this.node(id).storage.snapshot();
  }
}

// ---- the randomized scenario --------------------------------------------------------

export interface SeedResult {
  seed: number;
  steps: number;
  elections: number;
  committed: number;
  crashes: number;
  confChanges: number;
  snapshotsSent: number;
  reads: number;
  /** Members driven by the pipelined driver (accept/persisted). */
  pipelinedNodes: number;
  /** Readies accepted while an earlier write of the node was in flight. */
  pipelinedReadies: number;
  /** Writes in flight discarded by crashes. */
  lostWrites: number;
  /** Entries applied from writes in flight that a crash then undid (applied again after restart). */
  undoneApplies: number;
}

export interface SeedOptions {
  /**
   * 'mixed' (default): cluster shape and fault mix drawn from the seed.
   * 'churn': 5 voters, one-entry messages, frequent leader crashes and isolation —
   * the shapes of the Raft paper's Figure 8 (old-term entries on a majority).
   */
  profile?: 'mixed' | 'churn';
  /** Chaos phase length in ms (10 ms per tick). */
  chaosMs?: number;
  /** Bound for the liveness phase in ms. */
  livenessMs?: number;
  /** Override the seed's choice of driver mix (ClusterOptions.pipelined). */
  pipelined?: number;
  verbose?: boolean;
}

/**
 * One randomized run: a cluster with seed-chosen options, a chaos phase with
 * random faults (loss, delay, duplication, partitions, one-way cuts, leader
 * isolation, crashes at every Ready crash point, restarts, membership changes,
 * leader transfers, client proposals and reads), then a liveness phase: heal
 * everything, restart everyone, and require a leader and a committed proposal
 * applied on every member within the bound. Throws SimViolation on failure.
 */
export function runSeed(seed: number, o: SeedOptions = {}): SeedResult {
  const pick = new Prng(seed ^ 0x9e3779b9);
  const churn = o.profile === 'churn';
  const voters = churn ? 5 : pick.chance(0.6) ? 3 : 5;
  const c = new Cluster({
    seed,
    voters,
    learners: !churn && pick.chance(0.2) ? 1 : 0,
    preVote: pick.chance(0.5),
    checkQuorum: pick.chance(0.5),
    maxSizePerMsg: churn ? 1 : pick.pick([64, 256, 1024 * 1024]),
    maxInflightMsgs: churn ? pick.pick([1, 2]) : pick.pick([1, 4, 64]),
    snapshotEvery: churn ? 0 : pick.pick([0, 10, 30]),
    keepLogTail: pick.pick([0, 3, 10]),
    // A third of the runs all sync, a third all pipelined, a third mixed per node.
    pipelined: o.pipelined ?? pick.pick([0, 0.5, 1]),
    verbose: o.verbose ?? false,
  });
  const rng = c.rng;
  const chaosMs = o.chaosMs ?? (churn ? 2000 : 3000);
  const livenessMs = o.livenessMs ?? 3000;
  const baseNet: NetPolicy = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 8 };
  c.net = { ...baseNet };
  let proposals = 0;
  let reads = 0;
  const propose = (n: SimNode): void => {
    c.propose(n.id, `p${seed}-${proposals++}`);
  };

  // Per-seed storminess: calm runs exercise replication, stormy ones leader churn (Figure 8 shapes).
  const faultRate = churn ? 0.03 : pick.pick([0.003, 0.008, 0.02]); // per ms
  for (let t = 0; t < chaosMs; t++) {
    c.step();
    const live = c.liveNodes();
    if (live.length > 0 && rng.chance(churn ? 0.1 : 0.05)) propose(rng.pick(live));
    if (live.length > 0 && rng.chance(0.01)) {
      c.readIndex(rng.pick(live).id);
      reads++;
    }
    if (!rng.chance(faultRate)) continue;
    const all = [...c.nodes.values()].filter((n) => !n.removed);
    const victim = rng.pick(all);
    // churn: mostly leader crashes (12, 13), leader isolation (3), restarts (14) and heals (5)
    switch (churn ? rng.pick([3, 3, 5, 12, 12, 13, 13, 14, 14, 8, 2, 1]) : rng.int(15)) {
      case 0:
        c.net = { dropRate: rng.pick([0.05, 0.2, 0.5]), dupRate: rng.pick([0, 0.1]), minDelay: 1, maxDelay: rng.pick([8, 30, 75]) };
        break;
      case 1:
        c.net = { ...baseNet };
        break;
      case 2: {
        // random symmetric partition into two sides
        const ids = all.map((n) => n.id);
        const side = ids.filter(() => rng.chance(0.5));
        c.partition(side, ids.filter((x) => !side.includes(x)));
        break;
      }
      case 3: {
        const l = c.leader();
        c.isolate(l !== undefined ? l.id : victim.id);
        break;
      }
      case 4:
        c.cut(victim.id, rng.pick(all).id);
        break;
      case 5:
        c.heal();
        break;
      case 6:
        if (victim.up) victim.crashAt = rng.pick(victim.crashPoints());
        break;
      case 7:
        if (victim.up) c.crash(victim.id);
        else c.restart(victim.id);
        break;
      case 8:
        for (const n of all) if (!n.up) c.restart(n.id);
        break;
      case 9:
      case 10:
        membershipChange(c, rng);
        break;
      case 11: {
        const l = c.leader();
        if (l !== undefined) {
          const vs = l.confState.voters.filter((x) => x !== l.id);
          if (vs.length > 0) c.transferLeader(l.id, rng.pick(vs));
        }
        break;
      }
      case 12:
      case 13: {
        // leader churn: crash the leader, soon after its entries went out
        const l = c.leader();
        if (l !== undefined) {
          if (rng.chance(0.5)) l.crashAt = rng.pick(l.crashPoints().slice(1));
          else c.crash(l.id);
        }
        break;
      }
      case 14: {
        const down = all.filter((n) => !n.up);
        if (down.length > 0) c.restart(rng.pick(down).id);
        break;
      }
    }
  }

  // Liveness: heal, restart, quiesce faults; a leader must emerge and a proposal commit everywhere.
  c.heal();
  c.net = { ...baseNet };
  for (const n of c.nodes.values()) {
    n.crashAt = null;
    if (!n.up) c.restart(n.id);
  }
  const members = (): SimNode[] => {
    const l = c.leader();
    if (l === undefined) return [];
    const ids = [...l.confState.voters, ...l.confState.learners];
    return ids.map((id) => c.node(id));
  };
  const marker = `final-${seed}`;
  let proposed = false;
  const done = c.runUntil(() => {
    const l = c.leader();
    if (l === undefined || !l.confState.voters.includes(l.id)) return false;
    if (!proposed || c.now % 200 === 0) {
      // Re-propose periodically: a proposal can be lost to a leader change.
      proposed = c.propose(l.id, marker) || proposed;
    }
    const ms = members();
    return ms.length > 0 && ms.every((n) => n.up && n.appliedData.includes(marker));
  }, livenessMs);
  if (!done) {
    const l = c.leader();
    const desc = [...c.nodes.values()]
      .map((n) => `${n.id}:${n.up ? n.role : n.removed ? 'removed' : 'down'} t${n.term} c${n.commit} a${n.applied}`)
      .join(', ');
    const prog =
      l === undefined
        ? ''
        : [...l.raw.status().progress].map(([id, p]) => `${id}:${p.state} m${p.match} n${p.next}${p.recentActive ? '' : ' inactive'}`).join(', ');
    throw new SimViolation(
      `seed ${seed}: liveness: no leader committing within ${livenessMs} ms after healing (leader ${l?.id ?? 'none'}; ${desc}; progress ${prog})`,
    );
  }
  return {
    seed,
    steps: c.now,
    elections: c.stats.elections,
    committed: c.checker.maxCommitted,
    crashes: c.stats.crashes,
    confChanges: c.stats.confChanges,
    snapshotsSent: c.stats.snapshotsSent,
    reads,
    pipelinedNodes: [...c.nodes.values()].filter((n) => n.pipelined).length,
    pipelinedReadies: c.stats.pipelinedReadies,
    lostWrites: c.stats.lostWrites,
    undoneApplies: c.stats.undoneApplies,
  };
}

/** Proposes a random legal membership change through the current leader. */
function membershipChange(c: Cluster, rng: Prng): void {
  const l = c.leader();
  if (l === undefined) return;
  const { voters, learners } = l.confState;
  const choice = rng.int(4);
  if (choice === 0 && voters.length + learners.length < 6) {
    const n = c.addEmptyNode();
    c.proposeConfChange(l.id, { type: 'addLearnerNode', nodeId: n.id });
  } else if (choice === 1 && learners.length > 0) {
    c.proposeConfChange(l.id, { type: 'addNode', nodeId: rng.pick(learners) });
  } else if (choice === 2 && voters.length > 3) {
    // may remove the leader itself
    c.proposeConfChange(l.id, { type: 'removeNode', nodeId: rng.pick(voters) });
  } else if (choice === 3 && learners.length > 0) {
    c.proposeConfChange(l.id, { type: 'removeNode', nodeId: rng.pick(learners) });
  }
}

export { encodeConfChange };
