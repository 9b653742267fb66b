// RaftNode: the Raft driver, and the only place a Ready is handled.
//
// Everything that can change raft's state (a tick, an inbound message, a proposal, a ReadIndex
// request) runs synchronously on the RawNode and then schedules the loop. The loop handles one
// Ready at a time, in the order docs/raft.md requires:
//
//   1. persist snapshot + entries + hard state to the LogStore (flushed when rd.mustSync);
//   2. only then send rd.messages (votes and append acks vouch for step 1);
//   3. restore the snapshot (awaited) and queue rd.committedEntries on the apply chain;
//   4. hand out rd.readStates (their readers wait for the applied index) and advance.
//
// Batching: the loop is scheduled with setImmediate, and while one Ready is being persisted the
// next proposals accumulate in raft's unstable log, so every proposal that arrives during one
// flush goes out in the next Ready: one log write, one fsync, one append per follower.
//
// One transaction per Ready (handleJoined): when the server passes `atomically` (the member's one
// LMDB environment holds the log and the state), steps 1 and 3 share ONE durable transaction: the
// Ready's log write, then — raft advanced — the entries that write lets commit (a single voter
// commits its own entries right then) applied in the same transaction. So a single member acks a
// write after one fsync, and every member pays one commit per Ready instead of two. Messages still
// leave only after that transaction is durable.
//
// Pipelined persistence (handlePipelined, when the server passes `pipelined`): the usual path once
// the member runs. A Ready's log write and the apply of the entries it hands out are queued as ONE
// transaction on the storage's write worker, and the loop goes on to the next Ready at once
// (RawNode.accept) while that worker commits and fsyncs. When the commit is visible the applier
// finishes (answers writers, wakes readers); when the fsync is done raft hears of it
// (RawNode.persisted: only now does a leader count its own copy) and a non-leader's messages
// leave (but for the proposals and ReadIndex requests it forwards: those leave at once). So the
// event loop parses, proposes and encodes the next batch while the disk works on this one,
// instead of standing still for every fsync.
//
// Applying otherwise runs behind the loop: committed entries go onto an ordered apply chain after
// the Ready's persist, and the loop advances without waiting for the state-machine transaction (as
// etcd's apply goroutine does). It waits only for a snapshot restore, for conf changes (raft must
// see applyConfChange before planning more), and when too many batches are still unapplied.
// Reads and request waiters key off the applier's own applied index, so nothing observes an
// entry before it is applied.

import { RawNode, isRaftError } from '../raft/index.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  Logger,
  Message,
  NodeId,
  ReadState,
  Ready,
  Snapshot,
  SoftState,
  Status,
  Storage,
} from '../raft/index.js';
import type { LogStore } from './log.js';

/** Periodic timer, injected so tests can drive time. Returns a cancel function (idempotent). */
export interface Ticker {
  every(ms: number, fn: () => void): () => void;
}

export const NODE_TICKER: Ticker = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    // The tick alone must not keep a process alive; listeners do that while the member runs.
    t.unref();
    return () => clearInterval(t);
  },
};

/**
 * The state machine side of the driver. restore() is awaited before the Ready advances; apply()
 * calls run in log order behind the Raft loop (see RaftNode.handle) and are awaited at close.
 */
export interface Applier {
  /** Replace the state machine with a snapshot received from the leader (already in the log store). */
  restore(snapshot: Snapshot): Promise<void>;
  /**
   * Apply committed entries in order. For 'confChange' entries the applier must call
   * node.applyConfChange (in log order), including for entries its state already holds.
   */
  apply(entries: readonly Entry[]): Promise<void>;
  /**
   * apply() in two parts, for pipelined persistence: stage() makes the storage writes of applying
   * `entries` (it runs inside the driver's write transaction and must not await); the function it
   * returns does the rest (answering, waking, snapshotting) and runs once that transaction is
   * committed, in log order. Same conf-change duty as apply().
   */
  stage?(entries: readonly Entry[]): () => Promise<void>;
}

/** A queued write transaction: visible once `committed` resolves, durable once `flushed` does. */
export interface QueuedWrite {
  readonly committed: Promise<void>;
  readonly flushed: Promise<void>;
}

/** Where outgoing messages go (the peer Transport); send must never block. */
export interface MessageSink {
  send(messages: readonly Message[]): void;
}

export interface RaftNodeOptions {
  id: NodeId;
  log: LogStore;
  /**
   * What raft reads the log through; defaults to `log`. The server wraps the log to produce
   * snapshot data from the state machine on demand.
   */
  raftStorage?: Storage;
  sink: MessageSink;
  applier: Applier;
  /** Milliseconds per tick (etcd --heartbeat-interval). */
  tickMs: number;
  /** Ticks per election timeout and per heartbeat. */
  electionTicks: number;
  heartbeatTicks: number;
  /** Founding members, when the log is empty and this is a new cluster. */
  bootstrapVoters?: readonly NodeId[];
  ticker?: Ticker;
  randomInt?: (n: number) => number;
  /** Leader or role changed. */
  onSoftState?: (s: SoftState) => void;
  /** ReadIndex answers. The applier may not have reached their index yet: wait on its applied index. */
  onReadStates?: (rs: readonly ReadState[]) => void;
  /** Persisting or applying failed: the member cannot continue safely. */
  onFatal: (err: unknown) => void;
  /**
   * Runs its callback so that every storage write made synchronously inside it — the log save
   * and the writes the applier makes before its first await — commits as ONE durable (fsynced)
   * transaction when it returns, or none of them does and it throws (the member then stops).
   * The server passes `Storage.batchSync` of the environment holding both the log and the state.
   * Without it, the save and the apply commit separately.
   */
  atomically?: <T>(fn: () => T) => T;
  /**
   * Queues its callback to run (later, on this thread, without awaiting) inside one write
   * transaction that another thread commits and then flushes; every storage write made
   * synchronously inside the callback joins it. The server passes `Storage.batchAsync`. With it
   * (and `log.saveSync` and `applier.stage`) the driver pipelines persistence; see the header.
   */
  pipelined?: (fn: () => void) => QueuedWrite;
  logger?: Logger;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
}

/**
 * A proposal or a ReadIndex request forwarded to the leader claims nothing about what this member
 * has persisted (unlike an acknowledgement or a vote), so it need not wait for this member's
 * writes in flight: under load that wait was a whole write (~1-2 ms) added to every request a
 * follower forwards.
 */
function vouchesForNothing(m: Message): boolean {
  return m.type === 'prop' || m.type === 'readIndex';
}

function hasPersistWork(rd: Ready): boolean {
  return rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null;
}

/** Batches of committed entries that may be waiting to be applied before the Raft loop waits. */
const MAX_PENDING_APPLIES = 8;
/** Pipelined Ready writes that may be waiting for the disk before the Raft loop waits. */
const MAX_WRITES_IN_FLIGHT = 16;

export class RaftNode {
  readonly id: NodeId;
  private readonly raw: RawNode;
  private readonly opts: RaftNodeOptions;
  private readonly ticker: Ticker;
  private cancelTick: (() => void) | undefined;
  private scheduled = false;
  private running = false;
  private stopped = false;
  private failed = false;
  private idle: Array<() => void> = [];

  /** Applies handed out by Readys, in log order; see handle(). */
  private applyChain: Promise<void> = Promise.resolve();
  private unapplied: Array<readonly Entry[]> = [];
  private applyRunning = false;
  /** Pipelined writes not yet durable: resolves once the last one's persisted() has run. */
  private persistTail: Promise<void> = Promise.resolve();
  private writesInFlight = 0;
  /** Pipelined applies handed out and not yet finished (see handlePipelined). */
  private finishing = 0;
  private softState: SoftState = { lead: 0n, role: 'follower' };
  /** The term as of the last persisted hard state (cheap to read on every response header). */
  private termValue: number;
  /** Voters and learners as of the last conf change applied: pipelining pays only with peers. */
  private memberCount: number;
  /** Look, once the log is applied, whether this node is the only voter (then it campaigns at once). */
  private soloCheck = false;
  private closing: Promise<void> | undefined;
  private started: Promise<void> | undefined;

  constructor(opts: RaftNodeOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.ticker = opts.ticker ?? NODE_TICKER;
    this.termValue = opts.log.initialState().hardState.term;
    this.raw = new RawNode({
      id: opts.id,
      storage: opts.raftStorage ?? opts.log,
      electionTick: opts.electionTicks,
      heartbeatTick: opts.heartbeatTicks,
      randomInt: opts.randomInt ?? ((n) => Math.floor(Math.random() * n)),
      checkQuorum: true,
      preVote: true,
      maxSizePerMsg: opts.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: opts.maxInflightMsgs ?? 256,
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
    });
    const empty = opts.log.lastIndex() === 0 && opts.log.initialState().hardState.term === 0;
    const cs = opts.log.initialState().confState;
    this.memberCount = cs.voters.length + cs.learners.length;
    if (empty && opts.bootstrapVoters !== undefined && opts.bootstrapVoters.length > 0) {
      this.raw.bootstrap([...opts.bootstrapVoters].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      this.memberCount = opts.bootstrapVoters.length;
    }
  }

  /** Starts ticking and processes whatever is ready. Idempotent. */
  start(): Promise<void> {
    this.started ??= (async () => {
      if (this.stopped) throw new TypeError('raft node: start() after close()');
      this.cancelTick = this.ticker.every(this.opts.tickMs, () => this.tick());
      this.soloCheck = true;
      this.schedule();
    })();
    return this.started;
  }

  get leader(): NodeId {
    return this.softState.lead;
  }

  get term(): number {
    return this.termValue;
  }

  get isLeader(): boolean {
    return this.softState.role === 'leader';
  }

  status(): Status {
    return this.raw.status();
  }

  tick(): void {
    if (this.stopped) return;
    this.raw.tick();
    this.schedule();
  }

  /** Throws RaftError 'ProposalDropped' when the entry certainly cannot be appended now. */
  propose(data: Uint8Array): void {
    this.assertRunning();
    this.raw.propose(data);
    this.schedule();
  }

  proposeConfChange(cc: ConfChange): void {
    this.assertRunning();
    this.raw.proposeConfChange(cc);
    this.schedule();
  }

  /** Called by the applier while applying a conf-change entry. */
  applyConfChange(cc: ConfChange): ConfState {
    const cs = this.raw.applyConfChange(cc);
    this.memberCount = cs.voters.length + cs.learners.length;
    return cs;
  }

  readIndex(ctx: Uint8Array): void {
    this.assertRunning();
    this.raw.readIndex(ctx);
    this.schedule();
  }

  transferLeader(target: NodeId): void {
    this.assertRunning();
    this.raw.transferLeader(target);
    this.schedule();
  }

  /** A message from a peer. Messages raft refuses (non-member responses) are dropped. */
  step(m: Message): void {
    if (this.stopped) return;
    try {
      this.raw.step(m);
    } catch (e) {
      if (isRaftError(e, 'StepPeerNotFound') || isRaftError(e, 'StepLocalMsg')) return;
      throw e;
    }
    this.schedule();
  }

  reportUnreachable(id: NodeId): void {
    if (this.stopped) return;
    this.raw.reportUnreachable(id);
    this.schedule();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.stopped) return;
    this.raw.reportSnapshot(id, ok ? 'finish' : 'failure');
    this.schedule();
  }

  /**
   * Stops ticking and taking input, lets the Ready in hand finish (so what it persisted is
   * answered consistently), then resolves. Does not close the log store (its owner does). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.cancelTick?.();
      if (this.running) await new Promise<void>((r) => this.idle.push(r));
      await this.persistTail;
      await this.applyChain;
    })();
    return this.closing;
  }

  private assertRunning(): void {
    if (this.stopped || this.failed) throw new TypeError('raft node is stopped');
  }

  private schedule(): void {
    if (this.scheduled || this.running || this.stopped || this.failed) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every request parsed in this poll phase joins the Ready.
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running || this.failed) return;
    this.running = true;
    try {
      while (!this.stopped && this.raw.hasReady()) {
        await this.handle(this.raw.ready());
        if (this.soloCheck) this.campaignIfAlone();
        // Bounded pipeline: a slow disk slows intake instead of queueing without limit.
        if (this.writesInFlight > MAX_WRITES_IN_FLIGHT) await this.persistTail;
        if (this.finishing > MAX_PENDING_APPLIES) await this.applyChain;
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.running = false;
      for (const w of this.idle.splice(0)) w();
    }
    // Input that arrived during the last await scheduled nothing (running was set): look again.
    if (!this.stopped && this.raw.hasReady()) this.schedule();
  }

  // A single voter need not wait an election timeout to lead itself. Raft refuses to campaign
  // while conf changes are committed but unapplied, so this runs after a Ready was applied.
  private campaignIfAlone(): void {
    const st = this.raw.status();
    if (st.applied < st.commit) return;
    this.soloCheck = false;
    if (st.config.voters.length === 1 && st.config.voters[0] === this.id && st.role !== 'leader') this.raw.campaign();
  }

  private async handle(rd: Ready): Promise<void> {
    this.noteSoftState(rd);
    if (this.canPipeline(rd)) return this.handlePipelined(rd);
    // The paths below take the Ready in one step (advance): pipelined writes and their applies
    // must be done first, so raft sees persistence in order and applies never overlap.
    if (this.writesInFlight > 0 || this.finishing > 0) {
      await this.persistTail;
      await this.applyChain;
    }
    // A snapshot replaces the state machine: everything handed out before it must be applied first.
    if (rd.snapshot !== null) {
      await this.applyChain;
      const cs = rd.snapshot.metadata.confState;
      this.memberCount = cs.voters.length + cs.learners.length;
    }
    if (this.canJoin(rd)) return this.handleJoined(rd);
    if (hasPersistWork(rd)) {
      await this.opts.log.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot }, rd.mustSync);
      if (rd.hardState !== null) this.termValue = rd.hardState.term;
    }
    if (rd.messages.length > 0) this.opts.sink.send(rd.messages);
    if (rd.snapshot !== null) await this.opts.applier.restore(rd.snapshot);
    if (rd.committedEntries.length > 0) this.queueApply(rd.committedEntries);
    await this.afterApplyQueued(rd.committedEntries);
    if (rd.readStates.length > 0) this.opts.onReadStates?.(rd.readStates);
    this.raw.advance(rd);
  }

  private noteSoftState(rd: Ready): void {
    if (rd.softState === null) return;
    this.softState = rd.softState;
    this.opts.onSoftState?.(rd.softState);
  }

  /**
   * Whether this Ready can be pipelined (see the header): the member has peers (alone, nothing
   * overlaps its fsync, and the joined synchronous path answers after one fsync where the
   * pipelined one takes two worker cycles: measured 4.4k vs 6.5k puts/s at 16 connections), the
   * server gave `pipelined`, no snapshot is involved (a restore must not race the writes queued
   * before it), no conf change must reach raft before the next Ready is planned, and nothing
   * applied by the other paths is still running.
   */
  private canPipeline(rd: Ready): boolean {
    return (
      this.memberCount > 1 &&
      this.opts.pipelined !== undefined &&
      this.opts.log.saveSync !== undefined &&
      this.opts.applier.stage !== undefined &&
      rd.snapshot === null &&
      !this.applyRunning &&
      !rd.committedEntries.some((e) => e.type === 'confChange')
    );
  }

  /**
   * Queues the Ready's log write and the staging of its committed entries as one write
   * transaction, accepts it, and returns without waiting for the disk. A leader's messages go now
   * (its appends may carry entries it is still writing: Raft allows that, since the leader counts
   * its own copy only once persisted). A non-leader's messages wait until every write accepted so
   * far is durable — even a Ready that writes nothing may hold an append acknowledgement for
   * entries still in flight (raft answers a repeated append from its in-memory log). Forwarded
   * proposals and ReadIndex requests are the exception (vouchesForNothing).
   */
  private handlePipelined(rd: Ready): void {
    const leader = this.softState.role === 'leader';
    const committed = rd.committedEntries;
    const persist = hasPersistWork(rd);
    let finish: (() => Promise<void>) | undefined;
    let write: QueuedWrite | null = null;
    if (persist || committed.length > 0) {
      const saveSync = this.opts.log.saveSync!.bind(this.opts.log);
      const stage = this.opts.applier.stage!.bind(this.opts.applier);
      write = this.opts.pipelined!(() => {
        if (persist) saveSync({ hardState: rd.hardState, entries: rd.entries, snapshot: null });
        if (committed.length > 0) finish = stage(committed);
      });
    }
    this.raw.accept(rd);
    // What a non-leader sends after its writes are durable: everything but forwarded requests.
    let afterDurable: readonly Message[] = rd.messages;
    if (leader) {
      if (rd.messages.length > 0) this.opts.sink.send(rd.messages);
    } else if (rd.messages.some(vouchesForNothing)) {
      this.opts.sink.send(rd.messages.filter(vouchesForNothing));
      afterDurable = rd.messages.filter((m) => !vouchesForNothing(m));
    }
    if (rd.readStates.length > 0) this.opts.onReadStates?.(rd.readStates);
    if (write !== null && committed.length > 0) {
      const visible = write.committed;
      this.finishing++;
      this.applyChain = this.applyChain
        .then(() => visible)
        .then(() => (this.failed ? undefined : finish?.()))
        .catch((err: unknown) => this.fail(err))
        .finally(() => {
          this.finishing--;
        });
    }
    const durable = write?.flushed;
    this.writesInFlight++;
    this.persistTail = Promise.all([this.persistTail, durable])
      .then(() => {
        if (this.failed) return;
        if (rd.hardState !== null) this.termValue = rd.hardState.term;
        if (!leader && afterDurable.length > 0) this.opts.sink.send(afterDurable);
        this.raw.persisted(rd);
        this.schedule();
      })
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.writesInFlight--;
      });
  }

  /**
   * Whether this Ready can be handled in one storage transaction (see handleJoined): the server
   * gave `atomically`, the log can save synchronously, no snapshot is involved, nothing is ahead
   * on the apply chain, and no conf change must reach raft before the next Ready is planned.
   */
  private canJoin(rd: Ready): boolean {
    return (
      this.opts.atomically !== undefined &&
      this.opts.log.saveSync !== undefined &&
      rd.snapshot === null &&
      !this.applyRunning &&
      (hasPersistWork(rd) || rd.committedEntries.length > 0) &&
      !rd.committedEntries.some((e) => e.type === 'confChange')
    );
  }

  /**
   * One transaction, one fsync, for: this Ready's log write, the apply of the entries it commits,
   * and — after advance() — the entries that its own persistence lets commit (a leader counts its
   * copy only once persisted; a single voter commits right then) together with their apply.
   * Nothing leaves the member before the transaction is durable: messages of both Readies are
   * sent after it, in order. If it fails, nothing of it happened and the member stops (the
   * storage refuses further writes), so raft having been advanced inside it does not matter.
   * Folding only the one next Ready bounds the work per transaction; it holds no snapshot (only
   * a stepped message brings one, and nothing is stepped in between).
   */
  private async handleJoined(rd: Ready): Promise<void> {
    const saveSync = this.opts.log.saveSync!.bind(this.opts.log);
    let next: Ready | null = null;
    this.opts.atomically!(() => {
      if (hasPersistWork(rd)) saveSync({ hardState: rd.hardState, entries: rd.entries, snapshot: null });
      this.raw.advance(rd);
      const apply = [...rd.committedEntries];
      if (this.raw.hasReady()) {
        const n = this.raw.ready();
        next = n;
        if (n.snapshot !== null) throw new TypeError('raft node: a snapshot appeared without a message');
        if (hasPersistWork(n)) saveSync({ hardState: n.hardState, entries: n.entries, snapshot: null });
        apply.push(...n.committedEntries);
      }
      // The applier's synchronous part (its storage writes) runs now, inside the transaction.
      if (apply.length > 0) this.queueApply(apply);
    });
    // Durable now. Send before anything awaits: the apply's asynchronous tail (membership
    // effects such as dropping a removed peer) must not overtake the messages.
    const n = next as Ready | null;
    for (const r of n === null ? [rd] : [rd, n]) if (r.hardState !== null) this.termValue = r.hardState.term;
    if (rd.messages.length > 0) this.opts.sink.send(rd.messages);
    if (n !== null && n.messages.length > 0) this.opts.sink.send(n.messages);
    if (rd.readStates.length > 0) this.opts.onReadStates?.(rd.readStates);
    if (n === null) return;
    this.noteSoftState(n);
    await this.afterApplyQueued(n.committedEntries);
    if (n.readStates.length > 0) this.opts.onReadStates?.(n.readStates);
    this.raw.advance(n);
  }

  /**
   * Conf changes must reach raft (applyConfChange) before raft plans the next Ready, and the
   * backlog of unapplied batches stays bounded.
   */
  private async afterApplyQueued(committed: readonly Entry[]): Promise<void> {
    if (this.unapplied.length > MAX_PENDING_APPLIES || committed.some((e) => e.type === 'confChange')) await this.applyChain;
  }

  /**
   * Applying runs behind the Raft loop, in log order: the next Ready (the next batch's log write)
   * need not wait for this batch's state-machine transaction, and batches committed while an
   * apply is running are applied together in the next one. Waiters and reads key off the
   * applier's own applied index, never off advance(). The applier's synchronous part runs now.
   */
  private queueApply(committed: readonly Entry[]): void {
    this.unapplied.push(committed);
    if (!this.applyRunning) this.applyChain = this.drainApplies();
  }

  private async drainApplies(): Promise<void> {
    this.applyRunning = true;
    try {
      while (this.unapplied.length > 0 && !this.failed) {
        const batch = this.unapplied.length === 1 ? this.unapplied[0]! : this.unapplied.flat();
        this.unapplied = [];
        await this.opts.applier.apply(batch);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.applyRunning = false;
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.stopped = true;
    this.cancelTick?.();
    this.opts.onFatal(err);
  }
}
