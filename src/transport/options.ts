// Transport configuration: the public option types, their defaults, and the checks that turn a
// misconfiguration into a TypeError at construction rather than a surprise at run time.

import type { TlsReloader } from '../tls/index.js';
import type { Message, NodeId } from '../raft/index.js';
import type { Timers } from './timers.js';
import { NODE_TIMERS } from './timers.js';

/** The narrow logger the transport needs; pino's (obj, msg) signature fits it. IDs are logged as hex strings (bigint does not serialize to JSON). */
export interface TransportLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export const SILENT_LOGGER: TransportLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Mutual TLS on the peer port, in both directions, with each certificate bound to the member it
 * speaks for (peer-identity.ts has the rules). The listener and every dial take their material
 * from `reloader` (the member's peer certificate and key, the peer CA, optionally the denylist
 * and CRL), so a rotation or a SIGHUP reaches new connections without a restart.
 */
export interface PeerTlsOptions {
  readonly reloader: TlsReloader;
  /** etcd's --peer-cert-allowed-cn: the member names accepted, in both directions. Undefined or empty: any name. */
  readonly allowedNames?: readonly string[];
  /**
   * The name member `id` has in the cluster (its certificate's CN must be it), or undefined / ''
   * while the cluster does not know it yet. Called per connection and per received chunk: keep it cheap.
   */
  memberNameOf(id: NodeId): string | undefined;
  /** Listener: destroy a connection that has not finished its handshake within this many ms. Default 10 000. */
  readonly handshakeTimeoutMs?: number;
}

export interface TransportOptions {
  /** This member's ID (never 0). */
  selfId: NodeId;
  /** The cluster's ID; requests carrying another one are refused (412). */
  clusterId: bigint;
  /** URLs the peer listener binds, e.g. "https://10.0.0.1:2380". Port 0 picks a free port (see Transport.listenUrls). */
  listenUrls: readonly string[];
  /** The other members and their peer URLs. Must not contain selfId. */
  peers?: Iterable<readonly [NodeId, readonly string[]]>;
  /** Required when any URL is https; with it, every peer connection is mutual TLS bound to member identities. */
  tls?: PeerTlsOptions;

  /** Inbound cap for one stream frame (one message). Default 16 MiB. */
  maxMessageBytes?: number;
  /** Inbound cap for one snapshot body; also refused on the send side. Default 512 MiB. */
  maxSnapshotBytes?: number;
  /** Cap for a call's request body and for its answer (call.ts), both directions. Default 64 KiB. */
  maxCallBytes?: number;
  /** Receiver: a call's body must arrive and its handler answer within this many ms, else 504 Timeout. Default 10 000. */
  callTimeoutMs?: number;
  /** Per-peer send queue bounds; beyond either, messages are dropped and onUnreachable fires. Defaults 4096 messages, 64 MiB. */
  maxQueueMessages?: number;
  maxQueueBytes?: number;

  /** Inbound messages, in order per sender. Called from socket events, never from inside send(). */
  onMessage(msg: Message): void;
  /** A message to `peerId` was dropped or its connection failed; raft should slow down and probe. Coalesced per peer per turn. */
  onUnreachable(peerId: NodeId): void;
  /** Outcome of a MsgSnap to `peerId`: ok once the receiver handed it to raft. */
  onSnapshotStatus(peerId: NodeId, ok: boolean): void;
  /**
   * Whether `id` was removed from the cluster: such a sender is refused with MemberRemoved (410)
   * instead of UnknownSender, so it learns it must stop even if it never saw its removal commit
   * (its peers drop it as soon as they apply the removal). Peers dropped with removePeer count too.
   */
  isRemovedMember?(id: NodeId): boolean;
  /** A peer refused us with MemberRemoved: this member was removed from the cluster. Called once. */
  onRemovedFromCluster?(): void;

  logger?: TransportLogger;
  timers?: Timers;

  /** Connect + response-headers deadline for a new stream. Default 2000 ms. */
  dialTimeoutMs?: number;
  /** Reconnect backoff: starts at min, doubles per failure, capped at max. Defaults 50 / 1000 ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** An idle stream sends a keep-alive frame this often. Default 1000 ms. */
  keepAliveMs?: number;
  /** The receiver drops a stream that sent nothing (not even a keep-alive) for this long. Default 5000 ms. */
  idleTimeoutMs?: number;
  /** The sender drops a stream whose socket made no write progress this long while data waits. Default 5000 ms. */
  writeStallMs?: number;
  /** Snapshot data is written in pieces of this size, each waiting for the socket to drain. Default 256 KiB. */
  snapshotChunkBytes?: number;
  /** A snapshot transfer with no socket activity for this long fails. Default 10 000 ms. */
  snapshotIdleTimeoutMs?: number;
  /** How long close() waits for open streams to flush before cutting them. Default 1000 ms. */
  closeTimeoutMs?: number;
  /** Listener: request-headers deadline (slowloris, GUARANTEES D9). Default 10 000 ms. */
  headersTimeoutMs?: number;
  /** Listener: connection cap (GUARANTEES D9). Default 128. */
  maxConnections?: number;
}

export interface ResolvedOptions {
  readonly selfId: NodeId;
  readonly clusterId: bigint;
  readonly listenUrls: readonly URL[];
  readonly tls: PeerTlsOptions | undefined;
  readonly maxMessageBytes: number;
  readonly maxSnapshotBytes: number;
  readonly maxCallBytes: number;
  readonly callTimeoutMs: number;
  readonly maxQueueMessages: number;
  readonly maxQueueBytes: number;
  readonly logger: TransportLogger;
  readonly timers: Timers;
  readonly dialTimeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly keepAliveMs: number;
  readonly idleTimeoutMs: number;
  readonly writeStallMs: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotIdleTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly maxConnections: number;
}

const U64_MAX = (1n << 64n) - 1n;

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n <= 0) throw new TypeError(`transport: ${name} must be a positive integer, got ${String(v)}`);
  return n;
}

export function checkMemberId(name: string, id: unknown): NodeId {
  if (typeof id !== 'bigint' || id <= 0n || id > U64_MAX) throw new TypeError(`transport: ${name} must be a bigint in [1, 2^64)`);
  return id;
}

/** Parses and checks peer or listen URLs: http(s), a host, no path; https exactly when TLS options are given. */
export function parseUrls(name: string, urls: readonly string[], tlsOpts: PeerTlsOptions | undefined): URL[] {
  if (!Array.isArray(urls) || urls.length === 0) throw new TypeError(`transport: ${name} must be a non-empty array of URLs`);
  return urls.map((s) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new TypeError(`transport: ${name}: invalid URL ${JSON.stringify(s)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`transport: ${name}: ${s} must be http or https`);
    if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || u.username !== '') throw new TypeError(`transport: ${name}: ${s} must be scheme://host:port only`);
    if (u.protocol === 'https:' && tlsOpts === undefined) throw new TypeError(`transport: ${name}: ${s} is https but no tls options were given`);
    // With TLS configured nothing may fall back to plaintext: an http URL would be an unauthenticated side door.
    if (u.protocol === 'http:' && tlsOpts !== undefined) throw new TypeError(`transport: ${name}: ${s} is http but peer TLS is configured`);
    return u;
  });
}

export function resolveOptions(o: TransportOptions): ResolvedOptions {
  if (typeof o.onMessage !== 'function' || typeof o.onUnreachable !== 'function' || typeof o.onSnapshotStatus !== 'function') {
    throw new TypeError('transport: onMessage, onUnreachable and onSnapshotStatus are required');
  }
  const selfId = checkMemberId('selfId', o.selfId);
  if (o.tls !== undefined && (typeof o.tls.memberNameOf !== 'function' || typeof o.tls.reloader?.clientOptions !== 'function')) {
    throw new TypeError('transport: tls needs a reloader and memberNameOf');
  }
  if (typeof o.clusterId !== 'bigint' || o.clusterId < 0n || o.clusterId > U64_MAX) throw new TypeError('transport: clusterId must be a bigint in [0, 2^64)');
  const minBackoffMs = positiveInt('minBackoffMs', o.minBackoffMs, 50);
  const maxBackoffMs = positiveInt('maxBackoffMs', o.maxBackoffMs, 1000);
  if (maxBackoffMs < minBackoffMs) throw new TypeError('transport: maxBackoffMs must be >= minBackoffMs');
  const keepAliveMs = positiveInt('keepAliveMs', o.keepAliveMs, 1000);
  const idleTimeoutMs = positiveInt('idleTimeoutMs', o.idleTimeoutMs, 5000);
  // The receiver's idle check must not fire between two keep-alives of a healthy sender.
  if (idleTimeoutMs < 2 * keepAliveMs) throw new TypeError('transport: idleTimeoutMs must be at least twice keepAliveMs');
  return {
    selfId,
    clusterId: o.clusterId,
    listenUrls: parseUrls('listenUrls', o.listenUrls, o.tls),
    tls: o.tls,
    maxMessageBytes: positiveInt('maxMessageBytes', o.maxMessageBytes, 16 * 1024 * 1024),
    maxSnapshotBytes: positiveInt('maxSnapshotBytes', o.maxSnapshotBytes, 512 * 1024 * 1024),
    maxCallBytes: positiveInt('maxCallBytes', o.maxCallBytes, 64 * 1024),
    callTimeoutMs: positiveInt('callTimeoutMs', o.callTimeoutMs, 10_000),
    maxQueueMessages: positiveInt('maxQueueMessages', o.maxQueueMessages, 4096),
    maxQueueBytes: positiveInt('maxQueueBytes', o.maxQueueBytes, 64 * 1024 * 1024),
    logger: o.logger ?? SILENT_LOGGER,
    timers: o.timers ?? NODE_TIMERS,
    dialTimeoutMs: positiveInt('dialTimeoutMs', o.dialTimeoutMs, 2000),
    minBackoffMs,
    maxBackoffMs,
    keepAliveMs,
    idleTimeoutMs,
    writeStallMs: positiveInt('writeStallMs', o.writeStallMs, 5000),
    snapshotChunkBytes: positiveInt('snapshotChunkBytes', o.snapshotChunkBytes, 256 * 1024),
    snapshotIdleTimeoutMs: positiveInt('snapshotIdleTimeoutMs', o.snapshotIdleTimeoutMs, 10_000),
    closeTimeoutMs: positiveInt('closeTimeoutMs', o.closeTimeoutMs, 1000),
    headersTimeoutMs: positiveInt('headersTimeoutMs', o.headersTimeoutMs, 10_000),
    maxConnections: positiveInt('maxConnections', o.maxConnections, 128),
  };
}
