// One remote member as seen by the sender: a bounded queue of encoded frames, one streaming
// connection that drains it, and at most one snapshot transfer at a time.
//
// Stream life cycle (one PeerSender, many connections over time):
//
//   idle ──start()──▶ connecting ──200──▶ open ──error / peer ended / write stall──▶ backoff
//                        │                                                          │   ▲
//                        └──────────── refused / dial timeout / error ─────────────▶┘   │
//                                                 backoff timer fires ──▶ connecting ───┘
//   any state ──close()──▶ closed
//
// What happens to a message handed to enqueue():
//   open                 queued and written at the end of the current turn, all queued frames in
//                        one corked write; when the socket pushes back, later frames wait in the queue
//   connecting, backoff  queued; written if the next attempt opens the stream, dropped if it fails
//   any state            over maxQueueMessages or maxQueueBytes: dropped, onUnreachable
// When a connection attempt or an open stream fails, whatever is queued is dropped and
// onUnreachable fires (once per failure): raft retransmits from its own log, so the transport
// never has to, and raft's probe state keeps the flow to a down peer small. Queueing through
// the backoff (rather than dropping at once, as etcd's pipeline effectively does) means the first
// messages after a peer comes back are not lost; they are at most maxBackoffMs old.

import * as http from 'node:http';
import * as https from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { MsgSnap, NodeId } from '../raft/index.js';
import { encodeSnapshotHead } from './codec.js';
import { parseErrorCode } from './errors.js';
import { crc32, KEEPALIVE_FRAME } from './frames.js';
import type { ResolvedOptions } from './options.js';
import type { PeerIdentity } from './peer-identity.js';
import { fmtId, H_ERROR, requestHeaders, SNAPSHOT_CONTENT_TYPE, SNAPSHOT_PATH, SNAPSHOT_TRAILER_BYTES, STREAM_CONTENT_TYPE, STREAM_PATH } from './protocol.js';

/** What a PeerSender needs from its transport (owned here, implemented by Transport). */
export interface PeerHost {
  readonly opts: ResolvedOptions;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, ok: boolean): void;
  /** The peer refused us as a member removed from the cluster. */
  reportRemoved(): void;
  /** TLS options for one dial to `id` (current certificates; the expected member name when known). */
  dialOptions(id: NodeId): ConnectionOptions;
  /** After the handshake, before a byte of the request leaves: the server's certificate must name `id`; throws TransportError. */
  checkDialed(socket: unknown, id: NodeId): PeerIdentity;
}

type State = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

/** One streaming connection attempt. Events from an attempt that is no longer current are ignored. */
interface OutStream {
  readonly req: http.ClientRequest;
  readonly url: URL;
  done: boolean;
  /** False while the socket pushes back; cleared by 'drain'. */
  writable: boolean;
  wroteSinceTick: boolean;
  /** req.writableLength at the last tick, to see whether a pushed-back socket makes progress. */
  lastPending: number;
  stalledMs: number;
  cancelDial: (() => void) | null;
  cancelTick: (() => void) | null;
  /** What the receiver wrote into the response body before ending it (its reason), capped. */
  diag: string;
}

interface SnapshotTransfer {
  readonly req: http.ClientRequest;
  done: boolean;
  progressed: boolean;
  cancelTick: (() => void) | null;
  /** Resolves the pump's pending wait for 'drain' (also on abort). */
  wake: (() => void) | null;
}

const DIAG_CAP = 512;

export class PeerSender {
  readonly id: NodeId;
  private readonly hex: string;
  private readonly opts: ResolvedOptions;
  private urls: URL[];
  private urlIndex = 0;
  private state: State = 'idle';

  // A deque of frames: an array plus a head index, so shifting is O(1).
  private queue: (Uint8Array | undefined)[] = [];
  private head = 0;
  private queueBytes = 0;
  private flushScheduled = false;
  private overflowing = false;

  private stream: OutStream | null = null;
  private backoffMs: number;
  private cancelBackoff: (() => void) | null = null;
  private failures = 0;
  private closeWaiter: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  private snapshot: SnapshotTransfer | null = null;

  constructor(
    private readonly host: PeerHost,
    id: NodeId,
    urls: URL[],
  ) {
    this.id = id;
    this.hex = fmtId(id);
    this.opts = host.opts;
    this.urls = urls;
    this.backoffMs = this.opts.minBackoffMs;
  }

  /** The URLs this member is reached at (what the cluster recorded for it). */
  get peerUrls(): readonly URL[] {
    return this.urls;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  private get queued(): number {
    return this.queue.length - this.head;
  }

  /** Begins connecting (called once the transport runs). */
  start(): void {
    if (this.state === 'idle') this.connect();
  }

  // ---- the message stream -------------------------------------------------------------

  enqueue(frame: Uint8Array): void {
    if (this.state === 'closed') return;
    if (this.queued >= this.opts.maxQueueMessages || this.queueBytes + frame.byteLength > this.opts.maxQueueBytes) {
      if (!this.overflowing) {
        this.overflowing = true;
        this.opts.logger.warn({ peer: this.hex, queued: this.queued, queuedBytes: this.queueBytes }, 'send queue to peer is full; dropping messages');
      }
      this.host.reportUnreachable(this.id);
      return;
    }
    this.queue.push(frame);
    this.queueBytes += frame.byteLength;
    if (this.state === 'open') this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // A microtask, not an immediate write: every send() of the current turn lands in one corked
    // write (one TCP segment train per Ready), yet nothing waits for a later event-loop phase.
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const s = this.stream;
    if (this.state !== 'open' || s === null || !s.writable || this.queued === 0) return;
    s.req.cork();
    try {
      while (this.head < this.queue.length) {
        const f = this.queue[this.head]!;
        this.queue[this.head++] = undefined;
        this.queueBytes -= f.byteLength;
        if (!this.write(s, f)) break;
      }
    } finally {
      s.req.uncork();
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.overflowing = false;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private write(s: OutStream, frame: Uint8Array): boolean {
    s.wroteSinceTick = true;
    const ok = s.req.write(frame);
    if (!ok) s.writable = false;
    return ok;
  }

  private dropQueue(): number {
    const n = this.queued;
    this.queue = [];
    this.head = 0;
    this.queueBytes = 0;
    this.overflowing = false;
    return n;
  }

  private request(url: URL, path: string, headers: Record<string, string>): http.ClientRequest {
    const base: http.RequestOptions = {
      // URL.hostname keeps IPv6 brackets; the request API wants the bare address.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      method: 'POST',
      path,
      headers,
      // No pooling: a stream owns its connection for its whole life, and a snapshot gets its
      // own connection so it never queues behind, or in front of, the message stream.
      agent: false,
    };
    if (url.protocol !== 'https:') return http.request(base);
    const req = https.request({ ...base, ...this.host.dialOptions(this.id) });
    req.on('socket', (socket) => {
      // 'secureConnect' fires once the chain and host name verified, before the request's
      // buffered bytes are written (measured on Node 20: a request destroyed here never reaches
      // the server), so a wrong member on the other end gets no header, frame or snapshot byte.
      socket.once('secureConnect', () => {
        try {
          const who = this.host.checkDialed(socket, this.id);
          this.opts.logger.debug({ peer: this.hex, url: url.href, certName: who.memberName, certSerial: who.serial }, 'peer certificate verified');
        } catch (e) {
          req.destroy(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    return req;
  }

  private connect(): void {
    this.cancelBackoff = null;
    if (this.state === 'closed') return;
    this.state = 'connecting';
    const url = this.urls[this.urlIndex % this.urls.length]!;
    const req = this.request(url, STREAM_PATH, requestHeaders(this.opts.selfId, this.id, this.opts.clusterId, STREAM_CONTENT_TYPE));
    const s: OutStream = {
      req,
      url,
      done: false,
      writable: true,
      wroteSinceTick: false,
      lastPending: 0,
      stalledMs: 0,
      cancelDial: null,
      cancelTick: null,
      diag: '',
    };
    this.stream = s;
    s.cancelDial = this.opts.timers.after(this.opts.dialTimeoutMs, () => this.fail(s, `no answer within ${this.opts.dialTimeoutMs} ms`));
    req.on('response', (res) => this.onResponse(s, res));
    req.on('error', (e) => this.fail(s, e.message));
    req.on('close', () => this.fail(s, 'connection closed'));
    req.on('drain', () => {
      if (s.done) return;
      s.writable = true;
      s.stalledMs = 0;
      this.flush();
    });
    // Send the headers now, so the receiver can accept (200) before any frame exists.
    req.flushHeaders();
  }

  private onResponse(s: OutStream, res: http.IncomingMessage): void {
    if (s.done || this.stream !== s) {
      res.resume();
      return;
    }
    s.cancelDial?.();
    s.cancelDial = null;
    if (res.statusCode !== 200) {
      res.resume();
      const code = parseErrorCode(headerValue(res.headers[H_ERROR]));
      if (code === 'MemberRemoved') this.host.reportRemoved();
      this.fail(s, `refused with HTTP ${res.statusCode ?? '?'}${code === undefined ? '' : ` (${code})`}`);
      return;
    }
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      if (s.diag.length < DIAG_CAP) s.diag += text.slice(0, DIAG_CAP - s.diag.length);
    });
    res.on('end', () => {
      // The 200 was out before the receiver cut us; its reason is the body (TransportError text).
      if (s.diag.startsWith('transport: MemberRemoved:')) this.host.reportRemoved();
      this.fail(s, `receiver ended the stream${s.diag === '' ? '' : `: ${s.diag.trim()}`}`);
    });
    this.state = 'open';
    this.backoffMs = this.opts.minBackoffMs;
    if (this.failures > 0) this.opts.logger.info({ peer: this.hex, url: s.url.href, after: this.failures }, 'stream to peer re-established');
    else this.opts.logger.debug({ peer: this.hex, url: s.url.href }, 'stream to peer established');
    this.failures = 0;
    s.cancelTick = this.opts.timers.after(this.opts.keepAliveMs, () => this.tick(s));
    this.flush();
  }

  /** Every keepAliveMs while open: keep an idle stream alive, and notice a socket that stopped draining. */
  private tick(s: OutStream): void {
    s.cancelTick = null;
    if (s.done || this.state !== 'open') return;
    if (s.url.protocol === 'https:') {
      // The receiver's certificate may have expired, been revoked or stopped matching the
      // member's (now published) name since the handshake: stop sending to it.
      try {
        this.host.checkDialed(s.req.socket, this.id);
      } catch (e) {
        this.fail(s, e instanceof Error ? e.message : String(e));
        return;
      }
    }
    if (s.writable) {
      s.stalledMs = 0;
      if (!s.wroteSinceTick) this.write(s, KEEPALIVE_FRAME);
    } else {
      // Nothing is added while pushed back, so any decrease of the pending bytes is progress.
      const pending = s.req.writableLength;
      if (pending >= s.lastPending) s.stalledMs += this.opts.keepAliveMs;
      else s.stalledMs = 0;
      s.lastPending = pending;
      if (s.stalledMs >= this.opts.writeStallMs) {
        this.fail(s, `no write progress for ${s.stalledMs} ms`);
        return;
      }
    }
    s.wroteSinceTick = false;
    s.cancelTick = this.opts.timers.after(this.opts.keepAliveMs, () => this.tick(s));
  }

  private fail(s: OutStream, reason: string): void {
    if (s.done) return;
    s.done = true;
    s.cancelDial?.();
    s.cancelTick?.();
    s.req.destroy();
    if (this.stream !== s) return;
    this.stream = null;
    if (this.state === 'closed') {
      this.closeWaiter?.();
      return;
    }
    const wasOpen = this.state === 'open';
    const dropped = this.dropQueue();
    this.failures++;
    const fields = { peer: this.hex, url: s.url.href, reason, dropped, retryInMs: this.backoffMs };
    if (wasOpen) this.opts.logger.warn(fields, 'lost stream to peer');
    else if (this.failures === 1) this.opts.logger.warn(fields, 'cannot reach peer');
    else this.opts.logger.debug(fields, 'cannot reach peer');
    this.host.reportUnreachable(this.id);
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.state = 'backoff';
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs);
    this.cancelBackoff = this.opts.timers.after(delay, () => this.connect());
  }

  /** New URLs; a stream on a URL that is no longer listed reconnects at once, keeping the queue. */
  updateUrls(urls: URL[]): void {
    this.urls = urls;
    this.urlIndex = 0;
    const s = this.stream;
    if (this.state === 'closed' || this.state === 'idle') return;
    if (s !== null && urls.some((u) => u.href === s.url.href)) return;
    if (s !== null) {
      s.done = true;
      s.cancelDial?.();
      s.cancelTick?.();
      s.req.destroy();
      this.stream = null;
      // Frames already handed to the old socket may be lost: let raft re-probe rather than wait.
      if (this.state === 'open') this.host.reportUnreachable(this.id);
    }
    this.cancelBackoff?.();
    this.backoffMs = this.opts.minBackoffMs;
    this.connect();
  }

  // ---- snapshots ----------------------------------------------------------------------

  /**
   * Streams a MsgSnap over its own request: the encoded head, then the data in chunks (each
   * waiting for the socket to drain), then a CRC-32 trailer. Reports onSnapshotStatus when the
   * receiver answers or the transfer fails. One at a time per peer: raft never has two in flight
   * to one follower, so a second one is refused rather than queued.
   */
  sendSnapshot(m: MsgSnap): void {
    if (this.state === 'closed') return;
    const log = this.opts.logger;
    const meta = { peer: this.hex, index: m.snapshot.metadata.index, term: m.snapshot.metadata.term, bytes: m.snapshot.data.byteLength };
    if (this.snapshot !== null) {
      log.warn(meta, 'a snapshot to this peer is already in flight; refusing another');
      this.host.reportSnapshot(this.id, false);
      return;
    }
    let head: Uint8Array;
    try {
      head = encodeSnapshotHead(m);
    } catch (e) {
      log.error({ ...meta, err: String(e) }, 'cannot encode snapshot message');
      this.host.reportSnapshot(this.id, false);
      return;
    }
    const data = m.snapshot.data;
    const total = head.byteLength + data.byteLength + SNAPSHOT_TRAILER_BYTES;
    if (total > this.opts.maxSnapshotBytes) {
      log.error({ ...meta, total, max: this.opts.maxSnapshotBytes }, 'snapshot exceeds maxSnapshotBytes; not sent');
      this.host.reportSnapshot(this.id, false);
      return;
    }
    const url = this.urls[this.urlIndex % this.urls.length]!;
    const headers = requestHeaders(this.opts.selfId, this.id, this.opts.clusterId, SNAPSHOT_CONTENT_TYPE);
    headers['content-length'] = String(total);
    const req = this.request(url, SNAPSHOT_PATH, headers);
    const t: SnapshotTransfer = { req, done: false, progressed: true, cancelTick: null, wake: null };
    this.snapshot = t;
    log.info({ ...meta, url: url.href }, 'sending snapshot');

    const finish = (ok: boolean, reason: string): void => {
      if (t.done) return;
      t.done = true;
      t.cancelTick?.();
      t.wake?.();
      if (this.snapshot === t) this.snapshot = null;
      if (!ok) req.destroy();
      if (ok) log.info(meta, 'sent snapshot');
      else log.warn({ ...meta, reason }, 'failed to send snapshot');
      if (!ok) this.host.reportUnreachable(this.id);
      this.host.reportSnapshot(this.id, ok);
    };
    const tick = (): void => {
      t.cancelTick = null;
      if (t.done) return;
      if (!t.progressed) {
        finish(false, `no progress for ${this.opts.snapshotIdleTimeoutMs} ms`);
        return;
      }
      t.progressed = false;
      t.cancelTick = this.opts.timers.after(this.opts.snapshotIdleTimeoutMs, tick);
    };
    t.cancelTick = this.opts.timers.after(this.opts.snapshotIdleTimeoutMs, tick);

    req.on('response', (res) => {
      res.resume();
      if (res.statusCode === 204) finish(true, '');
      else {
        const code = parseErrorCode(headerValue(res.headers[H_ERROR]));
        if (code === 'MemberRemoved') this.host.reportRemoved();
        finish(false, `refused with HTTP ${res.statusCode ?? '?'}${code === undefined ? '' : ` (${code})`}`);
      }
    });
    req.on('error', (e) => finish(false, e.message));
    req.on('close', () => finish(false, 'connection closed before an answer'));
    req.on('drain', () => {
      t.progressed = true;
      t.wake?.();
    });
    void this.pumpSnapshot(t, head, data);
  }

  private async pumpSnapshot(t: SnapshotTransfer, head: Uint8Array, data: Uint8Array): Promise<void> {
    const { req } = t;
    let crc = crc32(head);
    req.write(head);
    const step = this.opts.snapshotChunkBytes;
    for (let off = 0; off < data.byteLength; off += step) {
      if (t.done) return;
      const piece = data.subarray(off, Math.min(off + step, data.byteLength));
      crc = crc32(piece, crc);
      t.progressed = true;
      if (!req.write(piece)) {
        await new Promise<void>((resolve) => {
          t.wake = resolve;
        });
        t.wake = null;
      }
    }
    if (t.done) return;
    const trailer = new Uint8Array(SNAPSHOT_TRAILER_BYTES);
    new DataView(trailer.buffer).setUint32(0, crc);
    req.end(trailer);
  }

  private abortSnapshot(): void {
    const t = this.snapshot;
    if (t === null) return;
    this.snapshot = null;
    t.done = true;
    t.cancelTick?.();
    t.wake?.();
    t.req.destroy();
  }

  // ---- shutdown -----------------------------------------------------------------------

  /**
   * Stops this sender; no callback mentions this peer afterwards. With `drain`, an open stream
   * first writes what is queued and ends its request, waiting up to closeTimeoutMs for the
   * receiver to finish; without, everything is cut at once. Idempotent.
   */
  close(drain: boolean): Promise<void> {
    if (this.closing !== null) return this.closing;
    const prev = this.state;
    this.state = 'closed';
    this.cancelBackoff?.();
    this.cancelBackoff = null;
    this.abortSnapshot();
    const s = this.stream;
    if (s === null || s.done) {
      this.dropQueue();
      this.closing = Promise.resolve();
      return this.closing;
    }
    s.cancelDial?.();
    s.cancelTick?.();
    if (!drain || prev !== 'open') {
      this.dropQueue();
      this.fail(s, 'closing');
      this.closing = Promise.resolve();
      return this.closing;
    }
    this.closing = new Promise<void>((resolve) => {
      const cancel = this.opts.timers.after(this.opts.closeTimeoutMs, () => this.fail(s, 'close timeout'));
      this.closeWaiter = () => {
        this.closeWaiter = null;
        cancel();
        resolve();
      };
      // Bounded by the queue limits, so writing past the socket's high-water mark is fine here.
      s.req.cork();
      while (this.head < this.queue.length) s.req.write(this.queue[this.head++]!);
      s.req.uncork();
      this.dropQueue();
      s.req.end();
    });
    return this.closing;
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
