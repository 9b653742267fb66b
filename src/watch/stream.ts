// WatchStream: one client watch stream (one POST /v3/watch, one WebSocket, one SSE connection).
// Requests go in (create / cancel / progress), encoded responses come out in order, through a
// bounded buffer the consumer drains by pulling (async iterator, or poll() after a readable
// callback). Semantics follow etcd 3.4 as API.md section 6 records it:
//
// - auto IDs start at 0 and skip IDs in use (create, create id 7, create -> 0, 7, 1);
// - re-using an ID in use -> {"watch_id":"-1","created":true,"canceled":true,"cancel_reason":…};
// - a range with range_end <= key -> the same shape with "mvcc: watcher range is empty";
// - a negative start_revision -> the same shape with the compacted error text (newer etcd);
// - an empty key means "\0", the smallest key (etcd's v3rpc does the same);
// - cancel of an active ID -> {"canceled":true}; of an unknown ID -> no response at all;
// - `created` always precedes that watch's events: it is queued before the watcher exists;
// - progress_request -> {"watch_id":"-1"} at the hub revision, sent once every watcher of the
//   stream is synced (so the answer is true for all of them, W6). Requests that arrive while one
//   is pending are answered by the same response.
//
// Memory: the buffer is bounded by `maxBufferedBytes` of encoded text. The hub checks for room
// before it queues events; a watcher that finds no room goes back to catch-up from history
// (watcher.ts), so nothing is lost and nothing grows. Control responses (created, canceled,
// progress) are always queued: each answers one client request or ends one watcher, and pending
// progress requests collapse into one.
import type { WatchCreateRequest, WatchRequest, ResponseHeader } from '../wire/index.js';
import { keyRangeInterval, NO_END, type Interval } from '../adt/index.js';
import { WatchCancelReason, WatchFilterType } from '../wire/index.js';
import { canceledMessage, createdMessage, refusedMessage, type WatchMessage } from './encode.js';
import { Watcher } from './watcher.js';

/** What a stream needs from its hub (implemented by WatchHub). */
export interface StreamHost {
  readonly revision: number;
  header(revision: number): ResponseHeader;
  /** Takes a new watcher: synced, waiting, or queued for catch-up from `startRevision`. */
  register(w: Watcher, startRevision: number): void;
  unregister(w: Watcher): void;
  /** The stream's buffer has room again after it turned a watcher away. */
  drained(stream: WatchStream): void;
  /** The stream wants a progress answer (or has one pending). */
  progressRequested(stream: WatchStream): void;
  streamClosed(stream: WatchStream): void;
}

export interface WatchStreamOptions {
  /** Most encoded bytes waiting for the consumer before watchers are turned away (default 1 MiB). */
  maxBufferedBytes?: number;
  /**
   * Authorization of a watch range for the stream's principal: undefined when allowed, else the
   * cancel reason. Called with the range exactly as the watcher will use it (an empty key already
   * turned into "\0", GUARANTEES A7) at create, and again for every open watcher when the auth
   * state changes (WatchHub.reauthorize), so a revoked permission ends the watch (A8).
   */
  authorize?: (key: Uint8Array, rangeEnd: Uint8Array) => string | undefined;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 1 << 20;

export class WatchStream implements AsyncIterableIterator<WatchMessage> {
  // The next three members and enqueue() are the hub's side of the stream (@internal: the api
  // layer uses request/create/cancel/requestProgress, poll/next/onReadable and close only).

  /** Every watcher holding an ID on this stream, including ones the hub canceled (until the client cancels them). */
  readonly watchers = new Map<number, Watcher>();
  /** A progress request waits for every watcher to be synced. */
  progressPending = false;
  /** A watcher was turned away for lack of room: tell the hub once the buffer drains. */
  starved = false;

  private nextId = 0;
  // A FIFO: messages from `head` on are waiting; taken slots are cleared so the GC can free them.
  private queue: (WatchMessage | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  private closed = false;
  private waiter: ((r: IteratorResult<WatchMessage>) => void) | undefined;
  private listener: (() => void) | undefined;
  private readonly maxBytes: number;

  /** The range each authorized watcher was checked with, for reauthorize(). */
  private readonly checkedRanges = new Map<number, { key: Uint8Array; rangeEnd: Uint8Array }>();

  constructor(
    private readonly host: StreamHost,
    private readonly opts: WatchStreamOptions = {},
  ) {
    this.maxBytes = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 1) throw new TypeError('maxBufferedBytes must be a positive integer');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Encoded bytes (UTF-16 units of the JSON text) and messages waiting for the consumer. */
  get buffered(): { bytes: number; messages: number } {
    return { bytes: this.bytes, messages: this.queue.length - this.head };
  }

  /** True while the hub may queue more events here. */
  hasRoom(): boolean {
    return this.bytes < this.maxBytes;
  }

  /** Handles one decoded request of the stream. Requests on a closed stream are ignored. */
  request(req: WatchRequest): void {
    switch (req.type) {
      case 'create':
        this.create(req.create);
        return;
      case 'cancel':
        this.cancel(req.cancel.watchId);
        return;
      case 'progress':
        this.requestProgress();
        return;
      case 'none':
        // etcd ignores a request that sets no member, without an answer.
        return;
      default: {
        const never: never = req;
        throw new TypeError(`unknown watch request ${JSON.stringify(never)}`);
      }
    }
  }

  /** Creates a watcher; returns its ID, or -1 when the create was refused (the refusal is queued). */
  create(c: WatchCreateRequest): number {
    if (this.closed) return -1;
    const header = this.host.header(this.host.revision);
    if (c.startRevision < 0) return this.refuse(header, WatchCancelReason.COMPACTED);
    const key = c.key.length === 0 ? NO_END : c.key;
    const range: Interval | undefined = keyRangeInterval(key, c.rangeEnd);
    if (range === undefined) return this.refuse(header, WatchCancelReason.EMPTY_RANGE);
    const denied = this.opts.authorize?.(key, c.rangeEnd);
    if (denied !== undefined) return this.refuse(header, denied);
    let id = c.watchId;
    if (id === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      return this.refuse(header, WatchCancelReason.DUPLICATE_ID);
    }
    const w = new Watcher(
      this,
      id,
      range,
      c.rangeEnd.length === 0,
      c.filters.includes(WatchFilterType.NOPUT),
      c.filters.includes(WatchFilterType.NODELETE),
      c.prevKv,
      c.progressNotify,
      c.fragment,
    );
    this.watchers.set(id, w);
    if (this.opts.authorize !== undefined) this.checkedRanges.set(id, { key, rangeEnd: c.rangeEnd });
    // Queued before the watcher can receive anything: `created` precedes its events.
    this.enqueue(createdMessage(header, id));
    this.host.register(w, c.startRevision);
    return id;
  }

  /** Cancels a watcher; false (and no response, as etcd) when the ID is unknown. */
  cancel(watchId: number): boolean {
    if (this.closed) return false;
    const w = this.watchers.get(watchId);
    if (w === undefined) return false;
    this.watchers.delete(watchId);
    this.checkedRanges.delete(watchId);
    if (w.state !== 'canceled') {
      this.host.unregister(w);
      w.state = 'canceled';
    }
    this.enqueue(canceledMessage(this.host.header(this.host.revision), watchId));
    // One unsynced watcher fewer may be what a pending progress request waited for.
    if (this.progressPending) this.host.progressRequested(this);
    return true;
  }

  /**
   * Asks `authorize` again for every live watcher and cancels, with the refusal as its reason,
   * those no longer allowed. Returns how many were canceled.
   */
  reauthorize(): number {
    const authorize = this.opts.authorize;
    if (this.closed || authorize === undefined) return 0;
    let canceled = 0;
    for (const [id, range] of this.checkedRanges) {
      const w = this.watchers.get(id);
      if (w === undefined) {
        this.checkedRanges.delete(id);
        continue;
      }
      if (w.state === 'canceled') continue;
      const denied = authorize(range.key, range.rangeEnd);
      if (denied === undefined) continue;
      this.watchers.delete(id);
      this.checkedRanges.delete(id);
      this.host.unregister(w);
      w.state = 'canceled';
      this.enqueue(canceledMessage(this.host.header(this.host.revision), id, denied));
      canceled++;
    }
    if (canceled > 0 && this.progressPending) this.host.progressRequested(this);
    return canceled;
  }

  requestProgress(): void {
    if (this.closed) return;
    this.progressPending = true;
    this.host.progressRequested(this);
  }

  /**
   * Called when messages become available while nothing was buffered and no next() waits: for
   * consumers that pull with poll() (a WebSocket writer). Called from a microtask, never from
   * inside the hub's own call, so the listener may use the stream freely.
   */
  onReadable(listener: (() => void) | undefined): void {
    this.listener = listener;
    if (listener !== undefined && this.head < this.queue.length) queueMicrotask(() => this.listener?.());
  }

  /** The next buffered message, or undefined when none is waiting. */
  poll(): WatchMessage | undefined {
    if (this.head >= this.queue.length) return undefined;
    const m = this.queue[this.head] as WatchMessage;
    this.queue[this.head] = undefined;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    } else if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    this.taken(m);
    return m;
  }

  next(): Promise<IteratorResult<WatchMessage>> {
    const m = this.poll();
    if (m !== undefined) return Promise.resolve({ value: m, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) throw new TypeError('WatchStream.next called while a previous next() is pending');
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Ends the iteration (a `break` out of for-await): closes the stream. */
  return(): Promise<IteratorResult<WatchMessage>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Cancels every watcher without responses, drops the buffer and ends the iteration. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) {
      if (w.state !== 'canceled') this.host.unregister(w);
      w.state = 'canceled';
    }
    this.watchers.clear();
    this.queue = [];
    this.head = 0;
    this.bytes = 0;
    this.listener = undefined;
    this.host.streamClosed(this);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** @internal Queues a message for the consumer (the hub checks hasRoom first for events). */
  enqueue(m: WatchMessage): void {
    if (this.closed) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      // Someone is already waiting: hand it over without buffering.
      this.waiter = undefined;
      waiter({ value: m, done: false });
      return;
    }
    this.queue.push(m);
    this.bytes += m.text.length;
    if (this.queue.length - this.head === 1 && this.listener !== undefined) queueMicrotask(() => this.listener?.());
  }

  private taken(m: WatchMessage): void {
    this.bytes -= m.text.length;
    // Wake the hub at half the bound, not at the first free byte, so catch-up works in big steps.
    if (this.starved && this.bytes <= this.maxBytes / 2) {
      this.starved = false;
      this.host.drained(this);
    }
  }

  private refuse(header: ResponseHeader, reason: string): number {
    this.enqueue(refusedMessage(header, reason));
    return -1;
  }
}
