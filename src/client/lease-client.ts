import {
  decodeLeaseGrantResponse,
  decodeLeaseKeepAliveLine,
  decodeLeaseLeasesResponse,
  decodeLeaseRevokeResponse,
  decodeLeaseTimeToLiveResponse,
  encodeLeaseGrantRequest,
  encodeLeaseKeepAliveRequest,
  encodeLeaseLeasesRequest,
  encodeLeaseRevokeRequest,
  encodeLeaseTimeToLiveRequest,
  EtcdError,
  LeasePath,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveResponse,
} from '../wire/index.js';
import { HttpTransport, KeywardError, type ClientOptions } from './http.js';

// Leases over etcd's v3 JSON API (etcd clientv3's Lease). Lease IDs are bigint: etcd hands out
// values above 2^53 and negative ones are legal.
//
// Keep-alive sends one renewal per request to /v3/lease/keepalive (a one-message stream), so no
// connection has to stay open between renewals and every renewal may go to any endpoint: members
// forward renewals to the leader. Renewals, time-to-live and lists are idempotent and fail over
// between endpoints; grant and revoke are not retried elsewhere (a repeated grant of ID 0 would
// make a second lease, GUARANTEES L15).

/** Why a kept-alive lease was given up. */
export type LeaseLoss =
  /** The cluster answered that the lease does not exist (expired or revoked). */
  | { reason: 'expired' }
  /** No renewal succeeded before the lease's TTL ran out (members unreachable, no leader). */
  | { reason: 'unreachable'; error: unknown };

export interface KeepAliveOptions {
  /** After every successful renewal. */
  onRenew?: (res: LeaseKeepAliveResponse) => void;
  /** Once, when the lease is lost (not when stopped). */
  onLoss?: (loss: LeaseLoss) => void;
  /** Delay between failed attempts. Default 500 ms (etcd clientv3's retry interval). */
  retryMs?: number;
  /** Timers, injectable for tests. */
  timers?: KeepAliveTimers;
}

export interface KeepAliveTimers {
  now(): number;
  after(ms: number, fn: () => void): () => void;
}

const REAL_TIMERS: KeepAliveTimers = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** A running keep-alive: renews at TTL/3 until stopped or lost. */
export class LeaseKeepAlive {
  /** Resolves with the loss, or with `{ reason: 'stopped' }` after stop(). Never rejects. */
  readonly done: Promise<LeaseLoss | { reason: 'stopped' }>;
  /** The TTL the last renewal answered (0 before the first). */
  ttl = 0;
  private finish!: (r: LeaseLoss | { reason: 'stopped' }) => void;
  private cancel: (() => void) | undefined;
  private over = false;
  private deadline: number;

  constructor(
    private readonly renew: () => Promise<LeaseKeepAliveResponse>,
    firstTimeoutMs: number,
    private readonly opts: KeepAliveOptions,
  ) {
    this.done = new Promise((r) => (this.finish = r));
    const timers = opts.timers ?? REAL_TIMERS;
    this.deadline = timers.now() + firstTimeoutMs;
    void this.attempt();
  }

  stop(): void {
    this.end({ reason: 'stopped' });
  }

  private get timers(): KeepAliveTimers {
    return this.opts.timers ?? REAL_TIMERS;
  }

  private async attempt(): Promise<void> {
    if (this.over) return;
    let res: LeaseKeepAliveResponse;
    try {
      res = await this.renew();
    } catch (error) {
      if (this.over) return;
      if (this.timers.now() >= this.deadline) return this.lose({ reason: 'unreachable', error });
      this.schedule(Math.min(this.opts.retryMs ?? 500, Math.max(0, this.deadline - this.timers.now())));
      return;
    }
    if (this.over) return;
    if (res.ttl <= 0) return this.lose({ reason: 'expired' });
    this.ttl = res.ttl;
    this.deadline = this.timers.now() + res.ttl * 1000;
    this.opts.onRenew?.(res);
    // etcd clientv3: the next renewal at a third of the TTL.
    this.schedule((res.ttl * 1000) / 3);
  }

  private schedule(ms: number): void {
    this.cancel = this.timers.after(ms, () => void this.attempt());
  }

  private lose(loss: LeaseLoss): void {
    if (this.over) return;
    this.opts.onLoss?.(loss);
    this.end(loss);
  }

  private end(r: LeaseLoss | { reason: 'stopped' }): void {
    if (this.over) return;
    this.over = true;
    this.cancel?.();
    this.finish(r);
  }
}

export class LeaseClient {
  private readonly http: HttpTransport;
  private readonly timeoutMs: number;

  constructor(opts: ClientOptions) {
    this.http = new HttpTransport(opts);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Grants a lease of `ttl` seconds (raised to the cluster's minimum); `id` 0 lets the server pick. */
  async grant(ttl: number | bigint, id: bigint = 0n): Promise<LeaseGrantResponse> {
    checkId(id);
    const t = typeof ttl === 'bigint' ? ttl : BigInt(checkTtl(ttl));
    return decodeLeaseGrantResponse(await this.http.call(LeasePath.GRANT, encodeLeaseGrantRequest({ ttl: t, id }), false));
  }

  /** Revokes a lease, deleting its keys. KeywardError LEASE_NOT_FOUND when there is none. */
  async revoke(id: bigint): Promise<LeaseRevokeResponse> {
    checkId(id);
    return decodeLeaseRevokeResponse(await this.http.call(LeasePath.REVOKE, encodeLeaseRevokeRequest({ id }), false));
  }

  /** Remaining and granted TTL (and the keys if asked); TTL -1 when the lease does not exist. */
  async timeToLive(id: bigint, opts: { keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    checkId(id);
    const body = encodeLeaseTimeToLiveRequest({ id, keys: opts.keys ?? false });
    return decodeLeaseTimeToLiveResponse(await this.http.call(LeasePath.TIME_TO_LIVE, body, true));
  }

  async leases(): Promise<LeaseLeasesResponse> {
    return decodeLeaseLeasesResponse(await this.http.call(LeasePath.LEASES, encodeLeaseLeasesRequest({}), true));
  }

  /**
   * Renews once and returns the answer. Like clientv3's KeepAliveOnce, a lease that does not exist
   * is KeywardError LEASE_NOT_FOUND rather than a TTL of 0.
   */
  async keepAliveOnce(id: bigint): Promise<LeaseKeepAliveResponse> {
    checkId(id);
    const json = await this.http.call(LeasePath.KEEP_ALIVE, encodeLeaseKeepAliveRequest({ id }), true);
    const line = decodeLeaseKeepAliveLine(json);
    if (line.type === 'error') throw new KeywardError('UNKNOWN', line.error.grpcCode, line.error.httpCode, line.error.message);
    if (line.result.ttl <= 0) {
      const e = EtcdError.LEASE_NOT_FOUND;
      throw new KeywardError('LEASE_NOT_FOUND', e.code, 200, e.message);
    }
    return line.result;
  }

  /**
   * Keeps a lease alive: renews now, then at a third of its TTL, retrying failures every 500 ms,
   * until stop() or until the lease is lost — the cluster says it is gone (`expired`), or no
   * renewal succeeded for a whole TTL (`unreachable`; the lease may have expired meanwhile).
   */
  keepAlive(id: bigint, opts: KeepAliveOptions = {}): LeaseKeepAlive {
    checkId(id);
    const renew = async (): Promise<LeaseKeepAliveResponse> => {
      try {
        return await this.keepAliveOnce(id);
      } catch (err) {
        // Gone is an answer, not a failure: report TTL 0 so the loop ends with 'expired'.
        if (err instanceof KeywardError && err.code === 'LEASE_NOT_FOUND') return { header: { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0 }, id, ttl: 0 };
        throw err;
      }
    };
    return new LeaseKeepAlive(renew, this.timeoutMs, opts);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkId(id: bigint): void {
  if (typeof id !== 'bigint' || id < INT64_MIN || id > INT64_MAX) throw new TypeError(`a lease ID must be a signed 64-bit bigint, got ${String(id)}`);
}

function checkTtl(ttl: number): number {
  if (!Number.isSafeInteger(ttl)) throw new TypeError(`a TTL must be an integer number of seconds, got ${ttl}`);
  return ttl;
}
