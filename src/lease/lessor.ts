// The lessor: the in-memory, leader-side half of leases (etcd's lease/lessor.go), a pure state
// machine over an injected clock. No timers, no I/O, no promises: the server drives it and turns
// what it reports into Raft proposals.
//
// Every member keeps the same set of leases (fed from applied entries: granted / revoked /
// checkpointed, or load() from the table), but only the primary lessor — the leader's — has
// expiry times. Rules, as etcd's:
//   - A follower's leases never expire (expiry = forever). Only the primary notices expiry, and
//     expiry takes effect only through a revoke the server proposes (`expired`).
//   - On promotion (a new leader that has applied every entry of earlier terms) every lease gets
//     expiry = now + extend + its remaining TTL (the checkpointed one if any, else the granted
//     TTL), so an election never causes a mass expiry. With many leases, expiries are spread so
//     no more than 3/4 of the revoke rate fall into any second.
//   - Renewals are leader memory only: expiry = now + TTL. A lease already past its expiry cannot
//     be renewed; the caller waits for its revoke.
//   - The primary checkpoints remaining TTLs through Raft every `checkpointIntervalMs` for leases
//     whose remaining time exceeds the interval, so a restart or election does not hand a
//     long-lived, unrenewed lease its full TTL again.
//
// Worked example (extend = 1 s, checkpoint interval 2 s):
//   t=0   granted(7, ttl 10) on a follower     expiry forever
//   t=0   promote(1000)                        expiry 11 s; checkpoint due at 2 s
//   t=2   dueCheckpoints() → [{7, 9}]          (proposed; applied: checkpointed(7, 9), next due 4 s)
//   t=3   renew(7) → ttl 10                    expiry 13 s; remaining checkpoint 9 must be cleared
//   t=13  expired() → [7]                      (proposed as a revoke; asked again at 16 s if still here)
import { TimeQueue } from './heap.js';
import type { LeaseCheckpoint } from './ops.js';
import type { LeaseRecord } from './table.js';

export interface LessorOptions {
  /** Milliseconds on a monotonic clock. */
  now: () => number;
  /** How often the primary records remaining TTLs through Raft; 0 disables. etcd: 5 minutes. */
  checkpointIntervalMs: number;
  /** Revokes per second at most (etcd's leaseRevokeRate, 1000); also sets the promotion spread. */
  revokeRate?: number;
  /** How long an expired lease waits for its revoke before it is reported again (etcd: 3 s). */
  expiredRetryMs?: number;
}

interface LiveLease {
  readonly id: bigint;
  readonly ttl: number;
  /** Checkpointed remaining seconds (0 = none). */
  remainingTtl: number;
  /** When it expires, ms on the injected clock; Infinity while this lessor is not primary. */
  expiry: number;
}

export type RenewResult =
  /** clearCheckpoint: a checkpoint is recorded for this lease; the caller proposes clearing it. */
  | { kind: 'renewed'; ttl: number; clearCheckpoint: boolean }
  | { kind: 'not-primary' }
  | { kind: 'not-found' }
  /** Past its expiry and waiting for its revoke: the caller waits for revoked() or demote(). */
  | { kind: 'expired' };

export interface LeaseView {
  ttl: number;
  /** Milliseconds left (may be <= 0 while the revoke is in flight); Infinity when not primary. */
  remainingMs: number;
}

export class Lessor {
  private readonly now: () => number;
  private readonly checkpointMs: number;
  private readonly revokeRate: number;
  private readonly retryMs: number;
  private readonly leases = new Map<bigint, LiveLease>();
  private readonly expiries = new TimeQueue();
  private readonly checkpoints = new TimeQueue();
  private primary = false;

  constructor(opts: LessorOptions) {
    this.now = opts.now;
    this.checkpointMs = opts.checkpointIntervalMs;
    this.revokeRate = opts.revokeRate ?? 1000;
    this.retryMs = opts.expiredRetryMs ?? 3000;
    if (!(this.checkpointMs >= 0) || !(this.revokeRate > 0) || !(this.retryMs > 0)) throw new TypeError('lessor: bad options');
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leases.size;
  }

  ids(): bigint[] {
    return [...this.leases.keys()];
  }

  lookup(id: bigint): LeaseView | undefined {
    const l = this.leases.get(id);
    if (l === undefined) return undefined;
    return { ttl: l.ttl, remainingMs: l.expiry === Infinity ? Infinity : l.expiry - this.now() };
  }

  // ---- applied state (every member) ------------------------------------------------------------

  /** Replaces every lease with the table's (at open, and after a snapshot was installed). */
  load(records: readonly LeaseRecord[]): void {
    this.leases.clear();
    this.expiries.clear();
    this.checkpoints.clear();
    for (const r of records) this.granted(r);
  }

  granted(rec: LeaseRecord): void {
    const l: LiveLease = { id: rec.id, ttl: rec.ttl, remainingTtl: rec.remainingTtl, expiry: Infinity };
    this.leases.set(rec.id, l);
    if (this.primary) {
      this.refresh(l, 0);
      this.scheduleCheckpoint(l);
    }
  }

  revoked(id: bigint): void {
    this.leases.delete(id);
    this.expiries.delete(id);
    this.checkpoints.delete(id);
  }

  checkpointed(id: bigint, remainingTtl: number): void {
    const l = this.leases.get(id);
    if (l === undefined) return;
    // Only the remaining TTL changes; it takes effect at the next promotion.
    l.remainingTtl = remainingTtl;
    if (this.primary) this.scheduleCheckpoint(l);
  }

  // ---- role -------------------------------------------------------------------------------------

  /**
   * This member leads and has applied every entry of earlier terms: its leases start expiring,
   * each `extendMs` (an election timeout) beyond its remaining TTL.
   */
  promote(extendMs: number): void {
    this.primary = true;
    this.checkpoints.clear();
    for (const l of this.leases.values()) {
      this.refresh(l, extendMs);
      this.scheduleCheckpoint(l);
    }
    if (this.leases.size < this.revokeRate) return; // no pile-up possible
    // Spread piled-up expiries so at most 3/4 of the revoke rate expire in any one second
    // (etcd's Promote): leases beyond that in a window are pushed back proportionally.
    const now = this.now();
    const sorted = [...this.leases.values()].sort((a, b) => a.expiry - b.expiry);
    let baseWindow = sorted[0]!.expiry - now;
    let nextWindow = baseWindow + 1000;
    let expires = 0;
    const target = (3 * this.revokeRate) / 4;
    for (const l of sorted) {
      const remaining = l.expiry - now;
      if (remaining > nextWindow) {
        baseWindow = remaining;
        nextWindow = baseWindow + 1000;
        expires = 1;
        continue;
      }
      expires++;
      if (expires <= target) continue;
      // Leases n seconds past the base window are pushed back by one second less per second.
      const delay = 1000 * (expires / target) - (remaining - baseWindow);
      nextWindow = baseWindow + delay;
      this.refresh(l, delay + extendMs);
    }
  }

  /** This member no longer leads: nothing expires here until it is promoted again. */
  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) l.expiry = Infinity;
    this.expiries.clear();
    this.checkpoints.clear();
  }

  // ---- primary work ------------------------------------------------------------------------------

  renew(id: bigint): RenewResult {
    if (!this.primary) return { kind: 'not-primary' };
    const l = this.leases.get(id);
    if (l === undefined) return { kind: 'not-found' };
    if (l.expiry - this.now() <= 0) return { kind: 'expired' };
    const clearCheckpoint = this.checkpointMs > 0 && l.remainingTtl > 0;
    // Unlike etcd 3.4 (whose first renewal after a checkpoint only extends to the checkpointed
    // remainder), a renewal always gives the full TTL; the caller makes the clearing durable.
    l.remainingTtl = 0;
    this.refresh(l, 0);
    return { kind: 'renewed', ttl: l.ttl, clearCheckpoint };
  }

  /**
   * Up to `limit` leases past their expiry, for the server to revoke. Each is reported again after
   * the retry interval if it is still here (its revoke was lost, e.g. to a leader change).
   */
  expired(limit: number): bigint[] {
    const out: bigint[] = [];
    if (!this.primary) return out;
    const now = this.now();
    while (out.length < limit) {
      const top = this.expiries.peek();
      if (top === undefined || top.at > now) break;
      const l = this.leases.get(top.id);
      if (l === undefined) {
        this.expiries.delete(top.id);
        continue;
      }
      if (l.expiry > now) {
        this.expiries.set(top.id, l.expiry); // not due after all: queue it at its expiry
        continue;
      }
      this.expiries.set(top.id, now + this.retryMs);
      out.push(l.id);
    }
    return out;
  }

  /** Up to `limit` checkpoints that are due, for the server to propose as one entry. */
  dueCheckpoints(limit: number): LeaseCheckpoint[] {
    const out: LeaseCheckpoint[] = [];
    if (!this.primary || this.checkpointMs === 0) return out;
    const now = this.now();
    while (out.length < limit) {
      const top = this.checkpoints.peek();
      if (top === undefined || top.at > now) break;
      this.checkpoints.delete(top.id);
      const l = this.leases.get(top.id);
      if (l === undefined || l.expiry <= now) continue;
      const remainingTtl = Math.ceil((l.expiry - now) / 1000);
      if (remainingTtl >= l.ttl) continue;
      out.push({ id: l.id, remainingTtl });
    }
    return out;
  }

  /** When the next expiry or checkpoint is due (ms on the clock), for a driver that sleeps until then. */
  nextDue(): number {
    return Math.min(this.expiries.peek()?.at ?? Infinity, this.checkpoints.peek()?.at ?? Infinity);
  }

  private refresh(l: LiveLease, extendMs: number): void {
    l.expiry = this.now() + extendMs + (l.remainingTtl > 0 ? l.remainingTtl : l.ttl) * 1000;
    this.expiries.set(l.id, l.expiry);
  }

  private scheduleCheckpoint(l: LiveLease): void {
    if (this.checkpointMs === 0) return;
    if (l.expiry - this.now() > this.checkpointMs) this.checkpoints.set(l.id, this.now() + this.checkpointMs);
  }
}
