// The peer listener's request handler: checks who is talking, then reads message streams and
// snapshot bodies with hard size caps and hands the decoded messages to raft.
//
// Order of checks on every request (the first failure answers, see errors.ts HTTP_STATUS):
//   1. path (404) and method (405)
//   2. protocol version header (412), cluster ID (412 on mismatch, like etcd), sender and
//      recipient IDs well formed (400), recipient is us (421), sender is a known peer (403)
//   3. over TLS: the client certificate is a peer identity and names the sender (403,
//      peer-identity.ts); checked again on every chunk of a stream and before a snapshot is
//      delivered, so a certificate that expires, is revoked, or stops matching (the sender's
//      name became known) ends the stream
//   4. body: every frame/body within its cap (413) and decodable (400); every message's `from`
//      is the request's sender (403) and its `to` is us (421)
//   5. calls (call.ts): handler kind known (404), Content-Length present (411) and within
//      maxCallBytes (413), body and answer within callTimeoutMs (504)
// A rejection never reaches raft and never throws out of the handler.

import type * as http from 'node:http';
import type { Message, NodeId } from '../raft/index.js';
import { decodeMessage } from './codec.js';
import { HTTP_STATUS, isTransportError, TransportError } from './errors.js';
import { crc32, FrameReader } from './frames.js';
import type { ResolvedOptions } from './options.js';
import type { PeerIdentity } from './peer-identity.js';
import { CallServer } from './call.js';
import { CALL_PATH, fmtId, H_CLUSTER, H_ERROR, H_FROM, H_PROTOCOL, H_TO, parseId, PROTOCOL_VERSION, SNAPSHOT_PATH, SNAPSHOT_TRAILER_BYTES, STREAM_PATH } from './protocol.js';

/** What the receiver needs from its transport (owned here, implemented by Transport). */
export interface ReceiverHost {
  readonly opts: ResolvedOptions;
  isKnownPeer(id: NodeId): boolean;
  isRemovedMember(id: NodeId): boolean;
  /** Over TLS: the connection's verified member certificate, which must name `from`; throws TransportError. Undefined on plaintext. */
  authenticate(socket: unknown, from: NodeId): PeerIdentity | undefined;
  /** Hands a message to raft; never throws. */
  deliver(msg: Message): void;
}

/** An accepted inbound request (stream or snapshot) that close() or removePeer() may cut. */
interface Inbound {
  readonly from: NodeId;
  done: boolean;
  terminate(err: TransportError): void;
}

function asTransportError(e: unknown): TransportError {
  // Anything but a TransportError here is a bug in this module; still, a peer must not be able
  // to turn it into a crash, so it is reported as malformed input and logged by the caller.
  return isTransportError(e) ? e : new TransportError('Malformed', e instanceof Error ? e.message : String(e));
}

export class Receiver {
  private readonly opts: ResolvedOptions;
  private readonly streams = new Map<NodeId, Inbound>();
  private readonly snapshots = new Map<NodeId, Inbound>();
  private closed = false;
  /** Handlers for calls (call.ts), registered by the transport's owner. */
  readonly calls: CallServer;

  constructor(private readonly host: ReceiverHost) {
    this.opts = host.opts;
    this.calls = new CallServer(this.opts, reject);
  }

  /** The http(s) 'request' listener. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.setHeader(H_CLUSTER, fmtId(this.opts.clusterId));
    let from: NodeId;
    let path: string;
    let who: PeerIdentity | undefined;
    try {
      path = (req.url ?? '').split('?', 1)[0]!;
      if (path !== STREAM_PATH && path !== SNAPSHOT_PATH && path !== CALL_PATH) throw new TransportError('NotFound', `no endpoint ${path}`);
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new TransportError('MethodNotAllowed', `${path} accepts POST only`);
      }
      if (this.closed) throw new TransportError('Unavailable', 'shutting down');
      from = this.checkHeaders(req);
      who = this.host.authenticate(req.socket, from);
    } catch (e) {
      const err = asTransportError(e);
      this.opts.logger.warn({ code: err.code, reason: err.message, remote: req.socket.remoteAddress, from: req.headers[H_FROM] }, 'refused peer request');
      reject(req, res, err);
      return;
    }
    try {
      if (path === STREAM_PATH) this.acceptStream(from, req, res, who);
      else if (path === CALL_PATH) this.calls.accept(from, req, res, who);
      else this.acceptSnapshot(from, req, res);
    } catch (e) {
      // A bug of ours, not the peer's; an exception out of a 'request' listener would crash the member.
      this.opts.logger.error({ peer: fmtId(from), err: e instanceof Error ? e.message : String(e) }, 'peer request handler failed');
      req.socket.destroy();
    }
  };

  private checkHeaders(req: http.IncomingMessage): NodeId {
    const h = req.headers;
    if (h[H_PROTOCOL] !== PROTOCOL_VERSION) throw new TransportError('UnsupportedVersion', `protocol ${String(h[H_PROTOCOL])}, this member speaks ${PROTOCOL_VERSION}`);
    const cluster = parseId(h[H_CLUSTER]);
    if (cluster === null) throw new TransportError('BadRequest', `missing or invalid ${H_CLUSTER}`);
    if (cluster !== this.opts.clusterId) throw new TransportError('ClusterMismatch', `cluster ${fmtId(cluster)}, this member is in ${fmtId(this.opts.clusterId)}`);
    const from = parseId(h[H_FROM]);
    if (from === null || from === 0n) throw new TransportError('BadRequest', `missing or invalid ${H_FROM}`);
    const to = parseId(h[H_TO]);
    if (to === null) throw new TransportError('BadRequest', `missing or invalid ${H_TO}`);
    if (from === this.opts.selfId) {
      throw new TransportError('SelfReference', `a request from this member (${fmtId(from)}) to ${fmtId(to)}: that member's peer URL reaches this member (a self-referencing configuration)`);
    }
    if (to !== this.opts.selfId) throw new TransportError('WrongRecipient', `addressed to ${fmtId(to)}, this member is ${fmtId(this.opts.selfId)}`);
    if (!this.host.isKnownPeer(from)) {
      if (this.host.isRemovedMember(from)) throw new TransportError('MemberRemoved', `member ${fmtId(from)} was removed from the cluster`);
      throw new TransportError('UnknownSender', `member ${fmtId(from)} is not a peer of ${fmtId(this.opts.selfId)}`);
    }
    return from;
  }

  private checkEnvelope(m: Message, from: NodeId): void {
    if (m.from !== from) throw new TransportError('SenderMismatch', `message from ${fmtId(m.from)} on a stream from ${fmtId(from)}`);
    if (m.to !== this.opts.selfId) throw new TransportError('WrongRecipient', `message to ${fmtId(m.to)}, this member is ${fmtId(this.opts.selfId)}`);
  }

  /** Starts an idle watchdog: `touch()` marks activity; a whole period without it calls onIdle. */
  private watchdog(periodMs: number, onIdle: () => void): { touch(): void; stop(): void } {
    let active = true;
    let cancel: (() => void) | null = null;
    const arm = (): void => {
      cancel = this.opts.timers.after(periodMs, () => {
        if (!active) {
          onIdle();
          return;
        }
        active = false;
        arm();
      });
    };
    arm();
    return {
      touch: () => {
        active = true;
      },
      stop: () => cancel?.(),
    };
  }

  private acceptStream(from: NodeId, req: http.IncomingMessage, res: http.ServerResponse, who: PeerIdentity | undefined): void {
    const log = this.opts.logger;
    const peer = fmtId(from);
    const reader = new FrameReader(this.opts.maxMessageBytes);
    const st: Inbound = {
      from,
      done: false,
      terminate: (err) => {
        if (st.done) return;
        finish();
        log.warn({ peer, code: err.code, reason: err.message }, 'dropping inbound stream');
        // The 200 is already out; the reason goes into the body so the sender can log it.
        endAndDestroy(req, res, `${err.message}\n`);
      },
    };
    const dog = this.watchdog(this.opts.idleTimeoutMs, () => st.terminate(new TransportError('Unavailable', `nothing received for ${this.opts.idleTimeoutMs} ms`)));
    const finish = (): void => {
      st.done = true;
      dog.stop();
      if (this.streams.get(from) === st) this.streams.delete(from);
    };

    // A new stream from the same sender replaces the old one (a reconnect after a failure the
    // receiver has not noticed yet); keeping one per sender keeps its messages in order.
    const prev = this.streams.get(from);
    if (prev !== undefined) prev.terminate(new TransportError('Unavailable', 'replaced by a newer stream from the same peer'));
    this.streams.set(from, st);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.flushHeaders();
    log.debug({ peer, remote: req.socket.remoteAddress, certName: who?.memberName, certSerial: who?.serial }, 'accepted inbound stream');

    req.on('data', (chunk: Buffer) => {
      if (st.done) return;
      dog.touch();
      try {
        this.host.authenticate(req.socket, from);
        for (const payload of reader.push(chunk)) {
          const m = decodeMessage(payload, this.opts.maxMessageBytes);
          this.checkEnvelope(m, from);
          this.host.deliver(m);
          // deliver() may have led to removePeer() or close(), which terminated this stream.
          if (st.done) return;
        }
      } catch (e) {
        st.terminate(asTransportError(e));
      }
    });
    req.on('end', () => {
      if (st.done) return;
      if (!reader.atBoundary) {
        st.terminate(new TransportError('Truncated', 'stream ended inside a frame'));
        return;
      }
      finish();
      log.debug({ peer }, 'inbound stream ended by peer');
      res.end();
    });
    req.on('close', () => {
      if (!st.done) finish();
    });
  }

  private acceptSnapshot(from: NodeId, req: http.IncomingMessage, res: http.ServerResponse): void {
    const log = this.opts.logger;
    const peer = fmtId(from);
    const fail = (err: TransportError): void => {
      log.warn({ peer, code: err.code, reason: err.message }, 'refused snapshot');
      reject(req, res, err);
    };
    if (this.snapshots.has(from)) return fail(new TransportError('Busy', 'a snapshot from this peer is already being received'));
    const lenHeader = req.headers['content-length'];
    if (lenHeader === undefined) return fail(new TransportError('LengthRequired', 'a snapshot needs Content-Length'));
    if (!/^\d{1,16}$/.test(lenHeader)) return fail(new TransportError('BadRequest', 'invalid Content-Length'));
    const declared = Number(lenHeader);
    // Refused before a byte of the body is read, and nothing is allocated from the declared size.
    if (declared > this.opts.maxSnapshotBytes) return fail(new TransportError('TooLarge', `snapshot of ${declared} bytes exceeds ${this.opts.maxSnapshotBytes}`));
    if (declared <= SNAPSHOT_TRAILER_BYTES) return fail(new TransportError('Truncated', 'snapshot body too short'));

    let chunks: Buffer[] = [];
    let received = 0;
    const sn: Inbound = {
      from,
      done: false,
      terminate: (err) => {
        if (sn.done) return;
        finish();
        chunks = [];
        fail(err);
      },
    };
    const dog = this.watchdog(this.opts.snapshotIdleTimeoutMs, () => sn.terminate(new TransportError('Unavailable', `snapshot stalled for ${this.opts.snapshotIdleTimeoutMs} ms`)));
    const finish = (): void => {
      sn.done = true;
      dog.stop();
      if (this.snapshots.get(from) === sn) this.snapshots.delete(from);
    };
    this.snapshots.set(from, sn);
    log.info({ peer, bytes: declared }, 'receiving snapshot');

    req.on('data', (chunk: Buffer) => {
      if (sn.done) return;
      dog.touch();
      received += chunk.byteLength;
      // node's parser already stops at Content-Length; this keeps the cap independent of it.
      if (received > declared) return sn.terminate(new TransportError('TooLarge', 'snapshot body longer than its Content-Length'));
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (sn.done) return;
      try {
        if (received !== declared) throw new TransportError('Truncated', `snapshot body of ${received} bytes, declared ${declared}`);
        // One exact-size, unpooled buffer: the decoded snapshot data is a view into it.
        const body = new Uint8Array(received);
        let off = 0;
        for (const c of chunks) {
          body.set(c, off);
          off += c.byteLength;
        }
        chunks = [];
        const end = received - SNAPSHOT_TRAILER_BYTES;
        const msgBytes = body.subarray(0, end);
        if (crc32(msgBytes) !== new DataView(body.buffer).getUint32(end)) throw new TransportError('ChecksumMismatch', 'snapshot body does not match its CRC-32');
        const m = decodeMessage(msgBytes, this.opts.maxSnapshotBytes);
        if (m.type !== 'snap') throw new TransportError('BadRequest', `expected a MsgSnap on ${SNAPSHOT_PATH}, got ${m.type}`);
        this.checkEnvelope(m, from);
        this.host.authenticate(req.socket, from);
        finish();
        log.info({ peer, index: m.snapshot.metadata.index, bytes: m.snapshot.data.byteLength }, 'received snapshot');
        this.host.deliver(m);
        res.writeHead(204).end();
      } catch (e) {
        sn.terminate(asTransportError(e));
      }
    });
    req.on('close', () => {
      if (!sn.done) {
        finish();
        chunks = [];
        log.warn({ peer, received, declared }, 'snapshot connection closed before the body was complete');
      }
    });
  }

  /** Cuts every stream and snapshot from `id` (the peer was removed). */
  dropPeer(id: NodeId): void {
    const err = new TransportError('MemberRemoved', `member ${fmtId(id)} was removed from the cluster`);
    this.streams.get(id)?.terminate(err);
    this.snapshots.get(id)?.terminate(err);
  }

  /** Refuses new requests and cuts open ones. */
  close(): void {
    this.closed = true;
    const err = new TransportError('Unavailable', 'receiver shutting down');
    for (const s of [...this.streams.values(), ...this.snapshots.values()]) s.terminate(err);
  }
}

/** Answers with the status for the error's code and closes the connection. */
function reject(req: http.IncomingMessage, res: http.ServerResponse, err: TransportError): void {
  if (res.headersSent) {
    endAndDestroy(req, res, `${err.message}\n`);
    return;
  }
  res.writeHead(HTTP_STATUS[err.code], { 'content-type': 'text/plain; charset=utf-8', [H_ERROR]: err.code, connection: 'close' });
  endAndDestroy(req, res, `${err.message}\n`);
}

/**
 * Ends the response, then destroys the socket: the request body may be an endless stream the
 * peer keeps writing, and reading it to the end (what node does for keep-alive) would let a
 * refused peer keep a connection busy.
 */
function endAndDestroy(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  if (res.writableEnded) {
    req.socket.destroy();
    return;
  }
  // If the peer never reads the answer, the callback never fires; Transport.close() still cuts
  // the connection with closeAllConnections().
  res.end(body, () => req.socket.destroy());
}
