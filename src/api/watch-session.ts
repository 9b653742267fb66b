// What the three watch transports (POST body, WebSocket, server-sent events) share: turning the
// client's text into watch requests, and draining a WatchStream into a socket that may be slow.
import {
  DecodeError,
  EtcdError,
  INVALID_WATCH_ID,
  decodeWatchRequest,
  decodeWatchResult,
  encodeWatchResultText,
  parseJsonBody,
  type WatchCreateRequest,
  type WatchRequest,
} from '../wire/index.js';
import {
  isTenantError,
  watchCreateToInternal,
  watchResponseToExternal,
  type KeyMapper,
  type KeywardServer,
  type RequestAuth,
  type WatchMessage,
  type WatchStream,
} from '../server/index.js';
import { BodyTooLargeError } from './body.js';
import { JsonSplitError, JsonValueSplitter, JsonValueTooLargeError } from './json-values.js';
import { toWireFailure } from './errors.js';
import { TenantEdge } from './tenant-edge.js';

export interface RequestReaderHandlers {
  /** One decoded request, in order; `index` counts from 0. */
  request(req: WatchRequest, index: number): void;
  /**
   * The request at `index` could not be read (not JSON, wrong types, too large). The reader stops:
   * as etcd's gateway, everything after a bad request object is ignored.
   */
  failed(err: DecodeError | BodyTooLargeError, index: number): void;
}

/**
 * Reads the request objects of one stream from text that arrives in pieces (body chunks, or
 * WebSocket messages, which etcd's gateway joins with newlines into one body).
 */
export class WatchRequestReader {
  private readonly splitter: JsonValueSplitter;
  private count = 0;
  private stopped = false;

  constructor(
    maxObjectChars: number,
    private readonly handlers: RequestReaderHandlers,
  ) {
    this.splitter = new JsonValueSplitter(maxObjectChars);
  }

  /** True once a request failed or stop() was called: further text is ignored. */
  get isStopped(): boolean {
    return this.stopped;
  }

  push(text: string): void {
    if (this.stopped) return;
    for (const v of this.splitter.push(text)) {
      if (this.stopped) return;
      this.one(v);
    }
    if (!this.stopped && this.splitter.failure !== undefined) this.fail(this.splitter.failure);
  }

  /** The stream's text ended: a value left open is read as it is (an incomplete one fails). */
  end(): void {
    if (this.stopped) return;
    const rest = this.splitter.end();
    if (rest !== undefined) this.one(rest);
  }

  stop(): void {
    this.stopped = true;
  }

  private one(text: string): void {
    let req: WatchRequest;
    try {
      req = decodeWatchRequest(parseJsonBody(text));
    } catch (err) {
      this.fail(err);
      return;
    }
    this.handlers.request(req, this.count++);
  }

  private fail(err: unknown): void {
    this.stopped = true;
    this.handlers.failed(asReadError(err), this.count);
  }
}

/** The error a client sees for text that is not a request: etcd's message for the same input. */
function asReadError(err: unknown): DecodeError | BodyTooLargeError {
  if (err instanceof DecodeError) return err;
  if (err instanceof JsonValueTooLargeError) return new BodyTooLargeError(err.received);
  if (err instanceof JsonSplitError) {
    // What was read of the broken value, through the full parser: it names the bad character.
    try {
      parseJsonBody(err.text);
    } catch (e) {
      if (e instanceof DecodeError) return e;
    }
    return new DecodeError('SYNTAX', 'unexpected EOF');
  }
  throw err;
}

/** Where a stream's messages go. */
export interface WatchSink {
  /** Writes one message; false when the socket is full and the pump should wait for writable(). */
  write(m: WatchMessage): boolean;
  /** Resolves once the socket takes more data, or when it closed. */
  writable(): Promise<void>;
  /** True once the client went away. */
  readonly closed: boolean;
  /** Brackets a burst of writes (one syscall for many messages). */
  cork?(): void;
  uncork?(): void;
}

/**
 * Drains `stream` into `sink` until either ends. Messages wait in the stream's bounded buffer while
 * the socket is full, never in the socket's own (unbounded) one: that is what lets the hub notice
 * a slow consumer and fall back to catch-up instead of growing memory (GUARANTEES W11).
 * `afterBurst` runs whenever the buffer was just drained (the reading side may resume).
 */
export async function pumpWatch(stream: SessionStream, sink: WatchSink, afterBurst?: () => void): Promise<void> {
  for (;;) {
    const r = await stream.next();
    if (r.done || sink.closed) return;
    sink.cork?.();
    let ok = sink.write(r.value);
    for (let m = ok ? stream.poll() : undefined; m !== undefined; m = ok ? stream.poll() : undefined) ok = sink.write(m);
    sink.uncork?.();
    afterBurst?.();
    if (!ok) {
      await sink.writable();
      if (sink.closed) return;
    }
  }
}

/** What the transports use of a stream: a WatchStream, or a tenant's view of one. */
export type SessionStream = Pick<WatchStream, 'request' | 'create' | 'next' | 'poll' | 'hasRoom' | 'close'>;

/**
 * Opens the stream a transport serves. For a cluster principal it is the server's WatchStream
 * itself; for a tenant principal a TenantWatchStream around it, which holds one of the tenant's
 * stream slots until closed. Throws what openWatchStream throws, and the tenant's refusals.
 */
export function openSessionStream(server: KeywardServer, auth: RequestAuth, edge: TenantEdge, logger: { error(obj: object, msg: string): void }): SessionStream {
  const tenant = TenantEdge.tenantOf(auth);
  if (tenant === undefined) return server.openWatchStream({}, auth);
  const mapper = edge.mapper(auth) as KeyMapper;
  const release = edge.acquire(tenant, 'streams');
  try {
    return new TenantWatchStream(server, server.openWatchStream({}, auth), edge, tenant, mapper, release, logger);
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * A tenant principal's watch stream (docs/tenancy-plan.md: translation once, at the edge, shared
 * by the three transports). Going in, every create's range is translated into the tenant's
 * keyspace and takes one of the tenant's watcher slots; coming out, every event's kv and prev_kv
 * lose the prefix (the message is decoded, translated and encoded again: tenant streams pay that,
 * cluster streams never see this class). A watcher's slot is given back when it is canceled (by
 * the client, by the hub, or with the stream).
 *
 * A refused create (watcher limit) is answered as etcd answers a refused create (created and
 * canceled, watch_id -1, the reason), in order after what the stream had queued before it.
 * An event key outside the tenant is a bug: the message is not sent, the error is logged and the
 * stream ends (the pump rejects).
 */
class TenantWatchStream implements SessionStream {
  private readonly watcherSlots = new Map<number, () => void>();
  /** Refusals made here, each to be delivered after `after` messages of the inner stream. */
  private readonly local: { after: number; message: WatchMessage }[] = [];
  private delivered = 0;
  private closed = false;
  /** The inner stream's pending next(), kept across wake-ups (it may be called only once at a time). */
  private innerWait: Promise<IteratorResult<WatchMessage>> | undefined;
  /** Wakes a next() waiting on the inner stream when a refusal of ours is due. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly server: KeywardServer,
    private readonly inner: WatchStream,
    private readonly edge: TenantEdge,
    private readonly tenant: string,
    private readonly mapper: KeyMapper,
    private readonly releaseStream: () => void,
    private readonly logger: { error(obj: object, msg: string): void },
  ) {}

  request(req: WatchRequest): void {
    if (req.type === 'create') this.create(req.create);
    else if (req.type === 'cancel') this.cancel(req.cancel.watchId);
    else this.inner.request(req);
  }

  create(c: WatchCreateRequest): number {
    if (this.closed) return -1;
    let release: () => void;
    try {
      release = this.edge.acquire(this.tenant, 'watchers');
    } catch (err) {
      return this.refuse(toWireFailure(err, 0).body.message);
    }
    let internal: WatchCreateRequest;
    try {
      internal = watchCreateToInternal(this.mapper, c);
    } catch (err) {
      release();
      if (!isTenantError(err)) throw err;
      this.logger.error({ err, tenant: this.tenant }, 'tenant watch range refused by translation');
      return this.refuse(EtcdError.PERMISSION_DENIED.message);
    }
    const id = this.inner.create(internal);
    if (id < 0) release();
    else this.watcherSlots.set(id, release);
    return id;
  }

  private cancel(watchId: number): void {
    this.inner.request({ type: 'cancel', cancel: { watchId } });
    this.freeWatcher(watchId);
  }

  private freeWatcher(watchId: number): void {
    const release = this.watcherSlots.get(watchId);
    if (release === undefined) return;
    this.watcherSlots.delete(watchId);
    release();
  }

  private refuse(reason: string): number {
    const header = this.server.responseHeader();
    const text = encodeWatchResultText({
      header,
      watchId: INVALID_WATCH_ID,
      created: true,
      canceled: true,
      compactRevision: 0,
      cancelReason: reason,
      fragment: false,
      events: [],
    });
    const message: WatchMessage = { kind: 'created', watchId: INVALID_WATCH_ID, revision: header.revision, lastEventRevision: 0, eventCount: 0, fragment: false, text };
    this.local.push({ after: this.delivered + this.inner.buffered.messages, message });
    this.wake?.();
    return -1;
  }

  hasRoom(): boolean {
    return this.inner.hasRoom();
  }

  poll(): WatchMessage | undefined {
    const l = this.local[0];
    if (l !== undefined && l.after <= this.delivered) {
      this.local.shift();
      return l.message;
    }
    // While a next() waits on the inner stream, its next message belongs to that next().
    if (this.innerWait !== undefined) return undefined;
    const m = this.inner.poll();
    if (m === undefined) return undefined;
    this.delivered++;
    return this.out(m);
  }

  async next(): Promise<IteratorResult<WatchMessage>> {
    for (;;) {
      const m = this.poll();
      if (m !== undefined) return { done: false, value: m };
      if (this.innerWait === undefined) {
        if (this.closed) return { done: true, value: undefined };
        this.innerWait = this.inner.next();
      }
      const woken = new Promise<'wake'>((resolve) => (this.wake = () => resolve('wake')));
      const r = await Promise.race([this.innerWait, woken]);
      this.wake = undefined;
      if (r === 'wake') continue;
      this.innerWait = undefined;
      if (r.done === true) return r;
      this.delivered++;
      return { done: false, value: this.out(r.value) };
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
    for (const release of this.watcherSlots.values()) release();
    this.watcherSlots.clear();
    this.releaseStream();
  }

  /** The message the tenant sees. Only events carry keys; a cancel gives the watcher's slot back. */
  private out(m: WatchMessage): WatchMessage {
    if (m.kind === 'canceled') this.freeWatcher(m.watchId);
    if (m.kind !== 'events') return m;
    let text: string;
    try {
      text = encodeWatchResultText(watchResponseToExternal(this.mapper, decodeWatchResult(JSON.parse(m.text))));
    } catch (err) {
      this.logger.error({ err, tenant: this.tenant }, 'tenant watch event refused by translation');
      throw err;
    }
    return { ...m, text };
  }
}
