// Leases in the member: wiring between the lease table (durable, changed only by applied entries),
// the lessor (leader memory: expiries, renewals, checkpoints) and the Raft write path.
//
//   grant / revoke / checkpoint  → proposed as log entries; applied inside mvcc's batch transaction
//                                   (change()), then the lessor hears of them (afterApply()).
//   renew (keep-alive)            → leader memory only; a follower's caller goes to the leader.
//   expiry                        → the leader's lessor notices it; this file proposes the revoke.
//   promotion                     → when the leader applies the empty entry of its own term (so every
//                                   entry of earlier terms is applied), as etcd does.
//
// Timers live here, not in the lessor, so the lessor stays a pure function of its inputs and clock.
import { applyLeaseOp, LeaseError, Lessor, LeaseTable, MAX_LEASE_TTL, minLeaseTtl, type LeaseOp, type LeaseOpValue } from '../lease/index.js';
import type { ExternalChange } from '../mvcc/index.js';
import type {
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  ResponseHeader,
} from '../wire/index.js';
import type { AuthStamp } from './entry.js';

/** What the lease manager needs from the member. */
export interface LeaseHost {
  /** Proposes `op` through Raft and resolves once applied here: its value and the revision after it; rejects with its refusal. */
  propose(op: LeaseOp, stamp?: AuthStamp): Promise<{ value: LeaseOpValue; revision: number }>;
  /** Resolves once this member has applied everything committed when called (linearizable read). */
  readBarrier(): Promise<void>;
  header(revision?: number): ResponseHeader;
  logger?: { warn(obj: object, msg: string): void };
}

export interface LeaseManagerOptions {
  electionMs: number;
  heartbeatMs: number;
  /** How often the leader checkpoints remaining TTLs through Raft; 0 disables. */
  checkpointIntervalMs: number;
  /** Monotonic milliseconds. Default performance.now. */
  now?: () => number;
  /** A random lease ID for grants that ask for 0; positive 63-bit values are kept. */
  randomId: () => bigint;
}

/** An event of an apply batch, in log order, for afterApply. */
export type LeaseApplied = { kind: 'op'; op: LeaseOp; value: LeaseOpValue } | { kind: 'promote' };

/** How often the leader looks for expired leases and due checkpoints (etcd: 500 ms). */
const MAX_TICK_MS = 500;
const REVOKE_RATE = 1000;
const MAX_CHECKPOINT_BATCH = 1000;

export class LeaseManager {
  private readonly lessor: Lessor;
  private readonly minTtl: number;
  private readonly tickMs: number;
  /** Renewals of expired leases waiting for the revoke (or for this member to step down). */
  private readonly gone = new Map<bigint, Array<(why: 'revoked' | 'demoted') => void>>();
  /** Revokes this leader has proposed for expired leases and not yet seen answered. */
  private readonly revoking = new Set<bigint>();
  private checkpointing = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    readonly table: LeaseTable,
    private readonly opts: LeaseManagerOptions,
    private readonly host: LeaseHost,
  ) {
    this.lessor = new Lessor({ now: opts.now ?? (() => performance.now()), checkpointIntervalMs: opts.checkpointIntervalMs, revokeRate: REVOKE_RATE });
    this.minTtl = minLeaseTtl(opts.electionMs, opts.heartbeatMs);
    this.tickMs = Math.max(10, Math.min(MAX_TICK_MS, opts.electionMs / 2));
    this.lessor.load(this.table.list());
  }

  start(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.demote();
  }

  get isPrimary(): boolean {
    return this.lessor.isPrimary;
  }

  // ---- apply path -------------------------------------------------------------------------------

  /** The entry's change for mvcc's batch: applied in the same transaction as the keys it deletes. */
  change(op: LeaseOp): ExternalChange {
    return { apply: (ctx) => applyLeaseOp(this.table, op, ctx) };
  }

  /** Tells the lessor what a committed batch did, in log order. */
  afterApply(events: readonly LeaseApplied[]): void {
    for (const e of events) {
      if (e.kind === 'promote') {
        // etcd extends by one election timeout: the time the cluster was without a leader.
        this.lessor.promote(this.opts.electionMs);
        continue;
      }
      const op = e.op;
      switch (op.type) {
        case 'grant':
          this.lessor.granted({ id: op.id, ttl: op.ttl, remainingTtl: 0 });
          break;
        case 'revoke':
          this.lessor.revoked(op.id);
          this.wake(op.id, 'revoked');
          break;
        case 'checkpoint':
          for (const c of op.checkpoints) this.lessor.checkpointed(c.id, c.remainingTtl);
          break;
      }
    }
  }

  /** The table was replaced (a snapshot was installed): start over from it. */
  reload(): void {
    this.lessor.load(this.table.list());
    for (const id of [...this.gone.keys()]) if (!this.table.exists(id)) this.wake(id, 'revoked');
  }

  /** This member stopped leading: its lessor is no longer primary. */
  demote(): void {
    if (this.lessor.isPrimary) this.lessor.demote();
    for (const id of [...this.gone.keys()]) this.wake(id, 'demoted');
  }

  // ---- requests -----------------------------------------------------------------------------------

  /** `stamp`: the client's edge authorization, re-checked at apply (server/auth.ts). */
  async grant(req: LeaseGrantRequest, stamp?: AuthStamp): Promise<LeaseGrantResponse> {
    // Checked before the minimum is applied, as etcd's lessor does; apply checks again.
    if (req.ttl > BigInt(MAX_LEASE_TTL)) throw new LeaseError('LEASE_TTL_TOO_LARGE');
    const ttl = req.ttl < BigInt(this.minTtl) ? this.minTtl : Number(req.ttl);
    let id = req.id;
    // Unguessable IDs (GUARANTEES A5); etcd uses a member-and-time based counter. A collision
    // with a live lease is drawn again (a broken random source must not loop forever).
    for (let tries = 0; id === 0n || (req.id === 0n && this.table.exists(id)); tries++) {
      if (tries === 64) throw new TypeError('lease: the random ID source keeps repeating itself');
      id = this.opts.randomId() & 0x7fff_ffff_ffff_ffffn;
    }
    const { value, revision } = await this.host.propose({ type: 'grant', id, ttl }, stamp);
    if (value.type !== 'grant') throw new TypeError('lease grant applied as something else');
    return { header: this.host.header(revision), id: value.id, ttl: value.ttl, error: '' };
  }

  async revoke(id: bigint, stamp?: AuthStamp): Promise<LeaseRevokeResponse> {
    const { revision } = await this.host.propose({ type: 'revoke', id }, stamp);
    return { header: this.host.header(revision) };
  }

  /**
   * Renews in leader memory and returns the granted TTL. NOT_PRIMARY when this member's lessor is
   * not the leader's (the caller goes to the leader); LEASE_NOT_FOUND when the lease is gone,
   * including one that expired and was then revoked while this renewal waited.
   */
  async renew(id: bigint): Promise<number> {
    for (;;) {
      const r = this.lessor.renew(id);
      switch (r.kind) {
        case 'renewed':
          if (r.clearCheckpoint) {
            // Durable, so the next leader does not cut the renewed lease to the old checkpoint.
            this.host.propose({ type: 'checkpoint', checkpoints: [{ id, remainingTtl: 0 }] }).catch(() => undefined);
          }
          return r.ttl;
        case 'not-primary':
          throw new LeaseError('NOT_PRIMARY');
        case 'not-found':
          throw new LeaseError('LEASE_NOT_FOUND');
        case 'expired': {
          // An expired lease is being revoked; a renewal must not bring it back (etcd waits too).
          const why = await new Promise<'revoked' | 'demoted'>((resolve) => {
            const list = this.gone.get(id) ?? [];
            list.push(resolve);
            this.gone.set(id, list);
          });
          if (why === 'revoked') throw new LeaseError('LEASE_NOT_FOUND');
          throw new LeaseError('NOT_PRIMARY');
        }
      }
    }
  }

  /** The leader's view: remaining seconds (truncated, as etcd), TTL -1 for a lease that is gone. */
  timeToLive(req: LeaseTimeToLiveRequest): LeaseTimeToLiveResponse {
    if (!this.lessor.isPrimary) throw new LeaseError('NOT_PRIMARY');
    const header = this.host.header();
    const v = this.lessor.lookup(req.id);
    if (v === undefined) return { header, id: req.id, ttl: -1, grantedTtl: 0, keys: [] };
    return { header, id: req.id, ttl: Math.trunc(v.remainingMs / 1000), grantedTtl: v.ttl, keys: req.keys ? this.table.keys(req.id) : [] };
  }

  /** Every lease, as of a linearizable read of the replicated table (etcd lists its local memory). */
  async leases(): Promise<LeaseLeasesResponse> {
    await this.host.readBarrier();
    return { header: this.host.header(), leases: this.table.list().map((r) => ({ id: r.id })) };
  }

  // ---- leader loop ----------------------------------------------------------------------------------

  private tick(): void {
    if (this.closed || !this.lessor.isPrimary) return;
    for (const id of this.lessor.expired((REVOKE_RATE * this.tickMs) / 1000)) {
      if (this.revoking.has(id)) continue;
      this.revoking.add(id);
      this.host
        .propose({ type: 'revoke', id })
        .catch((err: unknown) => {
          // Already gone is fine; otherwise the lessor reports it again after its retry interval.
          if (!(err instanceof LeaseError && err.code === 'LEASE_NOT_FOUND')) this.host.logger?.warn({ err, lease: id.toString() }, 'revoking an expired lease failed');
        })
        .finally(() => this.revoking.delete(id));
    }
    if (this.checkpointing) return;
    const checkpoints = this.lessor.dueCheckpoints(MAX_CHECKPOINT_BATCH);
    if (checkpoints.length === 0) return;
    this.checkpointing = true;
    this.host
      .propose({ type: 'checkpoint', checkpoints })
      .catch((err: unknown) => this.host.logger?.warn({ err }, 'lease checkpoint failed'))
      .finally(() => {
        this.checkpointing = false;
      });
  }

  private wake(id: bigint, why: 'revoked' | 'demoted'): void {
    const list = this.gone.get(id);
    if (list === undefined) return;
    this.gone.delete(id);
    for (const w of list) w(why);
  }
}
