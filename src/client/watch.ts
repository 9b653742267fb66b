import {
  bytesFromString,
  prefixEnd,
  type Bytes,
  type ResponseHeader,
  type WatchCreateRequest,
  type WatchEvent,
  type WatchFilterType,
  type WatchResponse,
} from '../wire/index.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { BasicAuth, TokenSource } from './credentials.js';
import { HttpTransport, keywardError } from './http.js';
import type { ClientTls } from './tls.js';
import { WatchConnection, type ConnectionFailure } from './watch-connection.js';

// Client watches that survive member failures.
//
// Design: one HTTP stream per watch (not one multiplexed stream per client), because
//  - flow control stays per watch: a consumer that stops reading holds back only its own socket,
//    so the member's bounded per-stream buffer applies to it alone (W11), no other watch waits
//    behind it, and the client never buffers more than `maxBufferedResponses` for it;
//  - a watch resumes alone, from its own last revision, on its own schedule (full jitter), and
//    there is no watch ID bookkeeping to get wrong across reconnects;
//  - it works against etcd 3.4's HTTP/1.1 gateway, which answers a stream only once its request
//    body is complete (`duplex: 'half'`), as well as full duplex against Keyward.
// The price is a socket per watch (measured by `npm run bench -- --ops watch`: 1,000 idle
// watches). Watches that want to share one connection can watch one range and split locally.
//
// Resume rule (GUARANTEES W2, W4, W5): the watch keeps `nextRevision`, the first revision it has
// not fully received. It starts at the requested start revision; a `created` answer to a watch
// from "now" (start 0) sets it to the header revision + 1 (the member registers the watcher at
// that revision, so it delivers everything after it); every event response moves it past its last
// event (all events of one revision arrive in one response, W3); a progress notification at R
// moves it to R + 1. After a disconnect the watch is created again from `nextRevision` on the
// next endpoint, so nothing is lost or repeated. If that revision has been compacted meanwhile,
// the member cancels the watch with the compact revision and the iterator throws a
// WatchError('COMPACTED') carrying it: events were lost and only the caller can decide what to
// re-read. An event below `nextRevision` would be a repeat; the watch drops it and counts it in
// `stats.staleDropped` (a server defect: tests assert it stays 0).

export interface WatchClientOptions {
  /** Member client URLs. A watch starts on the first and moves to the next one after a failure. */
  endpoints: string[];
  /** Time allowed for a member to answer a create or a keep-alive probe. Default 5000 ms. */
  timeoutMs?: number;
  /** Silence after which a keep-alive progress request is sent (full duplex only; 0 = never). Default 10000 ms. */
  keepAliveMs?: number;
  /** Reconnect delays (full jitter exponential). */
  backoff?: BackoffOptions;
  /** Randomness for the backoff jitter, [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * 'full' (default): the request body stays open for progress requests (Keyward). 'half': the body
   * ends after the create request, as etcd 3.4's HTTP/1.1 gateway needs; no progress requests and
   * no keep-alive probes then.
   */
  duplex?: 'full' | 'half';
  /** Responses buffered for a watch whose consumer does not keep up before reading pauses. Default 1024. */
  maxBufferedResponses?: number;
  /** Called before each reconnect, e.g. to log it. */
  onReconnect?: (info: ReconnectInfo) => void;
  /** TLS for https endpoints, as ClientOptions.tls. */
  tls?: ClientTls;
  /** As ClientOptions.token: sent with each stream attempt. */
  token?: TokenSource;
  /** As ClientOptions.auth: log in, and log in again once when a stream is refused for its token. */
  auth?: BasicAuth;
}

export interface ReconnectInfo {
  /** 1 for the first retry after a success. */
  attempt: number;
  delayMs: number;
  /** The endpoint the next attempt goes to. */
  endpoint: string;
  /** The revision the watch resumes from. */
  fromRevision: number;
  reason: string;
}

export interface WatchOptions {
  /** End of the range (exclusive). "\0" means every key ≥ key. */
  rangeEnd?: Bytes | string;
  /** Watch every key with `key` as prefix (exclusive with rangeEnd). */
  prefix?: boolean;
  /** First revision to deliver; 0 or absent: changes after the watch is created. */
  startRevision?: number;
  prevKv?: boolean;
  /** WatchFilterType.NOPUT / NODELETE. */
  filters?: WatchFilterType[];
  /** Ask the member for periodic progress notifications. */
  progressNotify?: boolean;
}

/** Events of one revision or more (history catch-up may batch several), in revision order. */
export interface WatchEventsUpdate {
  kind: 'events';
  header: ResponseHeader;
  events: WatchEvent[];
  /** The mod revision of the last event. */
  revision: number;
}

/** No event with a revision ≤ `revision` is still to come (W6). */
export interface WatchProgressUpdate {
  kind: 'progress';
  header: ResponseHeader;
  /**
   * The header revision, or the revision already delivered if that is higher (a member the watch
   * just moved to may lag behind what an earlier member delivered).
   */
  revision: number;
}

export type WatchUpdate = WatchEventsUpdate | WatchProgressUpdate;

export type WatchErrorCode = 'COMPACTED' | 'CANCELED' | 'CLOSED';

/**
 * The end of a watch that was not the caller's doing. COMPACTED: the revision the watch had to
 * continue from is gone (`compactRevision` is the member's compact revision; re-read, then watch
 * from there). CANCELED: the member refused or ended the watch (`message` is its cancel_reason).
 * CLOSED: `ready` of a watch closed before it was created.
 */
export class WatchError extends Error {
  override readonly name = 'WatchError';
  constructor(
    readonly code: WatchErrorCode,
    message: string,
    /** COMPACTED: the compact revision the member reported. */
    readonly compactRevision = 0,
    /** COMPACTED: the revision the watch needed. */
    readonly requiredRevision = 0,
  ) {
    super(message);
  }
}

export interface WatchStats {
  /** Streams opened, the first included. */
  connects: number;
  /** Events received below the resume revision and dropped (a server defect if ever > 0). */
  staleDropped: number;
}

const EMPTY = new Uint8Array(0);

function toBytes(v: Bytes | string): Bytes {
  return typeof v === 'string' ? bytesFromString(v) : v;
}

/** Builds the create request once; only start_revision changes between attempts. */
export function watchCreateRequest(key: Bytes | string, o: WatchOptions = {}): WatchCreateRequest {
  const k = toBytes(key);
  if (o.prefix === true && o.rangeEnd !== undefined) throw new TypeError('prefix and rangeEnd cannot both be given');
  const start = o.startRevision ?? 0;
  if (!Number.isSafeInteger(start) || start < 0) throw new TypeError(`startRevision must be a non-negative integer, got ${start}`);
  return {
    key: k,
    rangeEnd: o.prefix === true ? prefixEnd(k) : o.rangeEnd === undefined ? EMPTY : toBytes(o.rangeEnd),
    startRevision: start,
    progressNotify: o.progressNotify ?? false,
    filters: [...(o.filters ?? [])],
    prevKv: o.prevKv ?? false,
    watchId: 0,
    fragment: false,
  };
}

/** Opens watches over a list of endpoints. */
export class WatchClient {
  readonly endpoints: readonly string[];
  private readonly opts: WatchClientOptions;
  private readonly live = new Set<Watch>();
  private readonly http: HttpTransport;

  /** `transport` (internal): a KvClient shares its TLS options and token with its watches. */
  constructor(opts: WatchClientOptions, transport?: HttpTransport) {
    if (opts.endpoints.length === 0) throw new TypeError('at least one endpoint is required');
    this.endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ''));
    this.opts = opts;
    this.http =
      transport ??
      new HttpTransport({
        endpoints: [...this.endpoints],
        timeoutMs: opts.timeoutMs ?? 5000,
        ...(opts.tls === undefined ? {} : { tls: opts.tls }),
        ...(opts.token === undefined ? {} : { token: opts.token }),
        ...(opts.auth === undefined ? {} : { auth: opts.auth }),
      });
  }

  /** Starts a watch at once; iterate it for updates, await `ready` to know it is established. */
  watch(key: Bytes | string, options: WatchOptions = {}): Watch {
    const w = new Watch(this.endpoints, watchCreateRequest(key, options), this.opts, this.http, () => this.live.delete(w));
    this.live.add(w);
    w.start();
    return w;
  }

  /** Closes every open watch. */
  async close(): Promise<void> {
    await Promise.all([...this.live].map((w) => w.close()));
  }
}

/**
 * One watch: an async iterable of WatchUpdate (single consumer). Iteration ends when the caller
 * closes the watch (or breaks out of `for await`); it throws WatchError for a compaction or a
 * cancel by the member, KeywardError for a request the member refuses (e.g. HTTP 400).
 */
export class Watch implements AsyncIterableIterator<WatchUpdate> {
  /** Resolves with the header revision of the first `created` answer; rejects if the watch ends first. */
  readonly ready: Promise<number>;
  readonly stats: WatchStats = { connects: 0, staleDropped: 0 };

  private nextRev: number;
  private readonly queue: WatchUpdate[] = [];
  private failure: Error | undefined;
  private waiter: { resolve: (r: IteratorResult<WatchUpdate>) => void; reject: (e: unknown) => void } | undefined;
  private conn: WatchConnection | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private established = false;
  private endpointIndex = 0;
  private readonly backoff: Backoff;
  private userProgress = 0;
  private fragments: WatchEvent[] | undefined;
  private resolveReady!: (rev: number) => void;
  private rejectReady!: (e: unknown) => void;
  private readonly fullDuplex: boolean;
  private readonly maxBuffered: number;
  private closing: Promise<void> | undefined;
  /** A new token was fetched for a refused one and no stream has been created since. */
  private refreshed = false;

  constructor(
    private readonly endpoints: readonly string[],
    private readonly create: WatchCreateRequest,
    private readonly opts: WatchClientOptions,
    private readonly http: HttpTransport,
    private readonly onDone: () => void,
  ) {
    this.nextRev = create.startRevision;
    this.backoff = new Backoff(opts.backoff ?? {}, opts.random ?? Math.random);
    this.fullDuplex = (opts.duplex ?? 'full') === 'full';
    this.maxBuffered = opts.maxBufferedResponses ?? 1024;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // A caller that never awaits `ready` must not get an unhandled rejection.
    this.ready.catch(() => {});
  }

  /**
   * The revision up to which this watch has received every matching event (next revision - 1);
   * 0 while a watch from "now" is not yet created.
   */
  get revision(): number {
    return Math.max(0, this.nextRev - 1);
  }

  /** @internal */
  start(): void {
    this.connect();
  }

  /**
   * Asks the member for a progress notification; it arrives as a 'progress' update. Needs full
   * duplex. A request made while the watch is reconnecting is answered on the next stream.
   */
  requestProgress(): void {
    if (!this.fullDuplex) throw new TypeError('requestProgress needs a full-duplex watch stream (duplex: "full")');
    if (this.closed) return;
    this.userProgress++;
    if (this.established) this.conn?.requestProgress();
  }

  /** Ends the watch; resolves once its stream is closed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown(undefined);
    return this.closing;
  }

  next(): Promise<IteratorResult<WatchUpdate>> {
    const v = this.queue.shift();
    if (v !== undefined) {
      if (this.queue.length <= this.maxBuffered / 2) this.conn?.resume();
      return Promise.resolve({ value: v, done: false });
    }
    if (this.failure !== undefined) {
      const f = this.failure;
      this.failure = undefined; // thrown once; the iterator is done afterwards
      return Promise.reject(f);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) throw new TypeError('Watch.next called while a previous next() is pending (one consumer per watch)');
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<WatchUpdate>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private connect(): void {
    if (this.closed) return;
    this.established = false;
    this.fragments = undefined;
    this.stats.connects++;
    const endpoint = this.endpoints[this.endpointIndex % this.endpoints.length]!;
    const conn = new WatchConnection(
      {
        endpoint,
        create: { ...this.create, startRevision: this.nextRev },
        fullDuplex: this.fullDuplex,
        timeoutMs: this.opts.timeoutMs ?? 5000,
        keepAliveMs: this.opts.keepAliveMs ?? 10_000,
        tls: this.http.tlsOptions,
        token: () => this.http.credentials.get(),
      },
      {
        response: (res) => {
          if (this.conn === conn) this.onResponse(res);
        },
        ended: (f) => {
          if (this.conn === conn) this.onEnded(f, conn.token);
        },
      },
    );
    this.conn = conn;
    if (this.queue.length >= this.maxBuffered) conn.pause();
    conn.open();
  }

  private onResponse(res: WatchResponse): void {
    if (res.canceled) {
      if (res.compactRevision > 0) {
        const msg = `watch needed revision ${this.nextRev}, compacted up to ${res.compactRevision}: ${res.cancelReason || 'etcdserver: mvcc: required revision has been compacted'}`;
        void this.shutdown(new WatchError('COMPACTED', msg, res.compactRevision, this.nextRev));
      } else {
        void this.shutdown(new WatchError('CANCELED', res.cancelReason || 'watch canceled by the server'));
      }
      return;
    }
    if (res.created) {
      this.established = true;
      this.refreshed = false;
      this.backoff.reset();
      if (this.nextRev === 0) this.nextRev = res.header.revision + 1;
      this.resolveReady(res.header.revision);
      // Progress requests made while no stream was established go out now.
      for (let i = 0; i < this.userProgress; i++) this.conn?.requestProgress();
      return;
    }
    if (!this.established) return; // nothing is expected before `created`
    if (res.watchId === -1) {
      // The answer to a progress request (ours or a keep-alive probe: both are true statements).
      this.advanceTo(res.header.revision + 1);
      if (this.userProgress > 0) {
        this.userProgress--;
        this.push({ kind: 'progress', header: res.header, revision: this.nextRev - 1 });
      }
      return;
    }
    if (res.fragment) {
      (this.fragments ??= []).push(...res.events);
      return;
    }
    const events = this.fragments === undefined ? res.events : [...this.fragments, ...res.events];
    this.fragments = undefined;
    if (events.length === 0) {
      // A progress_notify notification for this watch.
      this.advanceTo(res.header.revision + 1);
      this.push({ kind: 'progress', header: res.header, revision: this.nextRev - 1 });
      return;
    }
    const fresh = events.filter((e) => (e.kv?.modRevision ?? 0) >= this.nextRev);
    this.stats.staleDropped += events.length - fresh.length;
    if (fresh.length === 0) return;
    const last = fresh[fresh.length - 1]!.kv?.modRevision ?? 0;
    this.advanceTo(last + 1);
    this.push({ kind: 'events', header: res.header, events: fresh, revision: last });
  }

  private advanceTo(rev: number): void {
    if (rev > this.nextRev) this.nextRev = rev;
  }

  private push(u: WatchUpdate): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w.resolve({ value: u, done: false });
      return;
    }
    this.queue.push(u);
    if (this.queue.length >= this.maxBuffered) this.conn?.pause();
  }

  private onEnded(f: ConnectionFailure, token: string | undefined): void {
    if (this.closed) return;
    this.conn = undefined;
    if (f.httpStatus === 401 && keywardError(f.message, f.grpcCode, f.httpStatus).code === 'INVALID_AUTH_TOKEN' && this.http.credentials.canRefresh && !this.refreshed) {
      // The token expired or the user's credentials changed: log in again once and reopen at once
      // (a refused create registered nothing). A second refusal in a row is final.
      this.refreshed = true;
      this.http.credentials.refresh(token).then(
        () => this.connect(),
        (err: unknown) => void this.shutdown(err instanceof Error ? err : new Error(String(err))),
      );
      return;
    }
    if (f.permanent) {
      void this.shutdown(keywardError(f.message, f.grpcCode, f.httpStatus));
      return;
    }
    const delayMs = this.backoff.next();
    this.endpointIndex = (this.endpointIndex + 1) % this.endpoints.length;
    this.opts.onReconnect?.({
      attempt: this.backoff.attempts,
      delayMs,
      endpoint: this.endpoints[this.endpointIndex]!,
      fromRevision: this.nextRev,
      reason: f.message,
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delayMs);
  }

  private async shutdown(failure: Error | undefined): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const conn = this.conn;
    this.conn = undefined;
    this.rejectReady(failure ?? new WatchError('CLOSED', 'the watch was closed before it was created'));
    const w = this.waiter;
    this.waiter = undefined;
    if (failure !== undefined) {
      if (w !== undefined) w.reject(failure);
      else this.failure = failure;
    } else {
      w?.resolve({ value: undefined, done: true });
    }
    this.onDone();
    await conn?.close();
  }
}
