// Transport: the member's peer listener plus one PeerSender per remote member.
//
// Why HTTP/1.1 and not HTTP/2: one long-lived streaming POST per peer gives everything raft needs
// (ordering, batching, backpressure through socket writes) with one TCP connection per direction,
// as etcd's rafthttp does. Snapshots get a connection of their own, so a gigabyte snapshot never
// shares a TCP window with heartbeats (over a single HTTP/2 session it would, and a slow snapshot
// would delay heartbeats into spurious elections). And node:http's server brings the D9 defences
// we need (headersTimeout against slowloris, maxConnections) without HTTP/2's extra attack surface
// (rapid reset, CVE-2023-44487; HPACK and flow-control state per stream).
//
// Callbacks never run inside a Transport method: onUnreachable and onSnapshotStatus are queued
// and delivered in a microtask (coalesced per peer), onMessage runs from socket events. So the
// raft driver can call send() in the middle of handling a Ready without being re-entered.

import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Message, NodeId } from '../raft/index.js';
import { encodeFrame, FRAME_HEADER_BYTES } from './codec.js';
import type { ResolvedOptions, TransportOptions } from './options.js';
import { checkMemberId, parseUrls, resolveOptions } from './options.js';
import { CallClient, type CallHandler } from './call.js';
import { TransportError } from './errors.js';
import { PeerSender } from './peer.js';
import { PeerAuthenticator } from './peer-identity.js';
import type { PeerHost } from './peer.js';
import { fmtId } from './protocol.js';
import { Receiver } from './receiver.js';
import type { ReceiverHost } from './receiver.js';

type State = 'new' | 'starting' | 'running' | 'closed';

export class Transport {
  private readonly opts: ResolvedOptions;
  /** What the senders and the receiver see of this transport (kept off the public surface). */
  private readonly host: PeerHost & ReceiverHost;
  private readonly onMessage: (msg: Message) => void;
  private readonly onUnreachable: (peerId: NodeId) => void;
  private readonly onSnapshotStatus: (peerId: NodeId, ok: boolean) => void;
  private readonly peers = new Map<NodeId, PeerSender>();
  private readonly receiver: Receiver;
  private readonly calls: CallClient;
  private servers: http.Server[] = [];
  /** Undo functions of reloader.attach, one per TLS listener. */
  private detachTls: (() => void)[] = [];
  private bound: string[] = [];
  private state: State = 'new';
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  private readonly unreachable = new Set<NodeId>();
  /** Peers dropped by removePeer: refused as removed members from then on (unless added again). */
  private readonly removedPeers = new Set<NodeId>();
  private removedReported = false;
  private readonly snapshotStatus: [NodeId, boolean][] = [];
  private reportScheduled = false;

  /** Validates the options (TypeError on misuse); does no I/O until start(). */
  constructor(options: TransportOptions) {
    this.opts = resolveOptions(options);
    this.onMessage = options.onMessage;
    this.onUnreachable = options.onUnreachable;
    this.onSnapshotStatus = options.onSnapshotStatus;
    const tls = this.opts.tls;
    const auth = tls === undefined
      ? null
      : new PeerAuthenticator(tls, {
          selfId: this.opts.selfId,
          peerIds: () => this.peers.keys(),
          peerUrlsOf: (id) => this.peers.get(id)?.peerUrls,
        });
    const noTls = (): never => {
      // parseUrls() refuses https URLs without TLS options, so no TLS socket exists without them.
      throw new TypeError('transport: TLS connection without TLS options');
    };
    this.host = {
      opts: this.opts,
      reportUnreachable: (id) => this.reportUnreachable(id),
      reportSnapshot: (id, ok) => this.reportSnapshot(id, ok),
      isKnownPeer: (id) => this.peers.has(id),
      isRemovedMember: (id) => this.removedPeers.has(id) || (options.isRemovedMember?.(id) ?? false),
      reportRemoved: () => {
        if (this.removedReported || this.state === 'closed' || options.onRemovedFromCluster === undefined) return;
        this.removedReported = true;
        const cb = options.onRemovedFromCluster;
        queueMicrotask(() => this.callback('onRemovedFromCluster', () => cb()));
      },
      deliver: (msg) => this.deliver(msg),
      authenticate: (socket, from) => (auth === null ? undefined : auth.check(socket, from)),
      dialOptions: (id) => (auth === null ? noTls() : auth.dialOptions(id)),
      checkDialed: (socket, id) => (auth === null ? noTls() : auth.check(socket, id)),
    };
    this.receiver = new Receiver(this.host);
    this.calls = new CallClient(this.opts);
    for (const [id, urls] of options.peers ?? []) this.addPeer(id, urls);
  }

  /** Binds the listeners and starts connecting to peers. Idempotent; rejects if a URL cannot be bound. */
  start(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new TypeError('transport: start() after close()'));
    if (this.starting !== null) return this.starting;
    this.state = 'starting';
    this.starting = this.listenAll().then(
      () => {
        if (this.state !== 'starting') return; // closed meanwhile
        this.state = 'running';
        for (const p of this.peers.values()) p.start();
        this.opts.logger.info({ member: fmtId(this.opts.selfId), urls: this.bound, peers: [...this.peers.keys()].map(fmtId) }, 'peer transport started');
      },
      async (e: unknown) => {
        await this.closeServers();
        throw e;
      },
    );
    return this.starting;
  }

  private async listenAll(): Promise<void> {
    const o = this.opts;
    for (const url of o.listenUrls) {
      const common: http.ServerOptions = {
        // 0: the stream request lives as long as the connection; liveness is the idle watchdog's job.
        requestTimeout: 0,
        headersTimeout: o.headersTimeoutMs,
        // How often node checks headersTimeout; its 30 s default would let a slowloris linger.
        connectionsCheckingInterval: Math.min(1000, o.headersTimeoutMs),
      };
      let server: http.Server;
      if (url.protocol === 'https:') {
        // parseUrls() refused https URLs without TLS options, so tls is set here. requestCert and
        // rejectUnauthorized are serverTlsOptions' defaults: no connection without a peer-CA chain.
        const tls = o.tls!;
        const secure = https.createServer({
          ...common,
          ...tls.reloader.serverOptions(tls.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: tls.handshakeTimeoutMs }),
        });
        // The context follows certificate reloads; revoked serials are refused and cut; failed
        // handshakes are destroyed (Node only reports a handshake timeout). The log is how an
        // operator finds a bad peer certificate.
        this.detachTls.push(
          tls.reloader.attach(secure, {
            onHandshakeFailure: (f) => this.opts.logger.warn({ err: f.message, code: f.code, reason: f.reason, remote: f.remoteAddress }, 'peer TLS handshake failed'),
            onRefused: (e) => this.opts.logger.warn({ serial: e.serial, when: e.when, remote: e.remoteAddress }, 'peer connection with a revoked certificate cut'),
          }),
        );
        server = secure;
      } else {
        server = http.createServer(common);
      }
      server.on('request', this.receiver.handle);
      server.on('clientError', (err: Error, socket) => {
        this.opts.logger.debug({ err: err.message }, 'peer connection error');
        socket.destroy();
      });
      server.maxConnections = o.maxConnections;
      server.timeout = 0;
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? defaultPort(url) : Number(url.port) }, () => {
          server.off('error', reject);
          server.on('error', (err) => this.opts.logger.error({ err: err.message }, 'peer listener error'));
          resolve();
        });
      });
      const addr = server.address() as AddressInfo; // a TCP listener always has an AddressInfo
      this.bound.push(`${url.protocol}//${url.hostname}:${addr.port}`);
    }
  }

  /** The listen URLs with the ports actually bound (port 0 resolved); the configured ones before start() resolves. */
  get listenUrls(): readonly string[] {
    return this.bound.length === this.opts.listenUrls.length ? [...this.bound] : this.opts.listenUrls.map((u) => u.origin);
  }

  /** The first of listenUrls. */
  get listenUrl(): string {
    return this.listenUrls[0]!;
  }

  /**
   * Hands messages to their peers' queues and returns at once; never throws. A MsgSnap goes over
   * its own request. Messages to unknown peers, to ourselves or to 0 are dropped (logged at debug).
   */
  send(messages: readonly Message[]): void {
    if (this.state === 'closed') return;
    for (const m of messages) {
      try {
        this.sendOne(m);
      } catch (e) {
        // Only encodeFrame can throw here (a malformed message from a local bug); one bad
        // message must not stop the others or reach the raft loop.
        this.opts.logger.error({ type: String(m?.type), to: typeof m?.to === 'bigint' ? fmtId(m.to) : String(m?.to), err: e instanceof Error ? e.message : String(e) }, 'cannot send message');
      }
    }
  }

  private sendOne(m: Message): void {
    const to = m.to;
    const p = this.peers.get(to);
    if (p === undefined) {
      this.opts.logger.debug({ type: m.type, to: fmtId(to) }, to === this.opts.selfId ? 'dropped message to self' : 'dropped message to unknown peer');
      return;
    }
    if (m.type === 'snap') {
      p.sendSnapshot(m);
      return;
    }
    const frame = encodeFrame(m);
    if (frame.byteLength - FRAME_HEADER_BYTES > this.opts.maxMessageBytes) {
      // The peer would cut the stream over it (and every message behind it): refuse it here.
      this.opts.logger.error({ type: m.type, to: fmtId(to), bytes: frame.byteLength, max: this.opts.maxMessageBytes }, 'message exceeds maxMessageBytes; dropped');
      this.reportUnreachable(to);
      return;
    }
    p.enqueue(frame);
  }

  /**
   * Registers the handler for calls of `kind` from peers (call.ts): it gets the sending member
   * (authenticated as for raft traffic) and the request bytes, and answers bytes. TypeError for a
   * bad kind name or a second handler of one kind.
   */
  handle(kind: string, handler: CallHandler): void {
    this.receiver.calls.register(kind, handler);
  }

  /**
   * Calls the `kind` handler of peer `to` with `body` and resolves with its answer. Rejects with
   * a TransportError when no answer came: Unreachable (not a peer, or no connection), Timeout
   * (after timeoutMs), TooLarge, PeerCertificate / IdentityMismatch (the other end is not that
   * member), or the code the peer refused with (NotFound for a kind it has no handler for).
   */
  call(to: NodeId, kind: string, body: Uint8Array, opts: { timeoutMs: number }): Promise<Uint8Array> {
    if (this.state !== 'running') return Promise.reject(new TransportError('Unavailable', 'the transport is not running'));
    const p = this.peers.get(to);
    if (p === undefined) return Promise.reject(new TransportError('Unreachable', `member ${fmtId(to)} is not a peer`));
    const timeoutMs = Math.max(1, Math.ceil(opts.timeoutMs));
    return this.calls.call(
      {
        id: to,
        urls: p.peerUrls,
        dialOptions: () => this.host.dialOptions(to),
        checkDialed: (socket) => this.host.checkDialed(socket, to),
      },
      kind,
      body,
      timeoutMs,
    );
  }

  /** Adds a peer (TypeError for selfId or bad URLs). Adding a known peer updates its URLs. */
  addPeer(id: NodeId, urls: readonly string[]): void {
    checkMemberId('peer id', id);
    if (id === this.opts.selfId) throw new TypeError(`transport: member ${fmtId(id)} cannot be its own peer`);
    const parsed = parseUrls(`peer ${fmtId(id)} urls`, urls, this.opts.tls);
    if (this.state === 'closed') return;
    this.removedPeers.delete(id);
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      existing.updateUrls(parsed);
      this.calls.drop(id);
      return;
    }
    const p = new PeerSender(this.host, id, parsed);
    this.peers.set(id, p);
    this.opts.logger.info({ peer: fmtId(id), urls: parsed.map((u) => u.href) }, 'added peer');
    if (this.state === 'running') p.start();
  }

  /** Replaces a peer's URLs; a stream on a URL no longer listed reconnects. Unknown peers are logged and ignored. */
  updatePeer(id: NodeId, urls: readonly string[]): void {
    const parsed = parseUrls(`peer ${fmtId(id)} urls`, urls, this.opts.tls);
    const p = this.peers.get(id);
    if (p === undefined) {
      this.opts.logger.warn({ peer: fmtId(id) }, 'updatePeer: unknown peer ignored');
      return;
    }
    p.updateUrls(parsed);
    this.calls.drop(id);
    this.opts.logger.info({ peer: fmtId(id), urls: parsed.map((u) => u.href) }, 'updated peer');
  }

  /** Forgets a peer: cuts its outbound and inbound connections; no callback mentions it afterwards. */
  removePeer(id: NodeId): void {
    const p = this.peers.get(id);
    if (p === undefined) return;
    this.peers.delete(id);
    this.removedPeers.add(id);
    this.unreachable.delete(id);
    void p.close(false);
    this.calls.drop(id);
    this.receiver.dropPeer(id);
    this.opts.logger.info({ peer: fmtId(id) }, 'removed peer');
  }

  hasPeer(id: NodeId): boolean {
    return this.peers.has(id);
  }

  /** True while the message stream to `id` is established. */
  isActive(id: NodeId): boolean {
    return this.peers.get(id)?.isOpen ?? false;
  }

  /**
   * Stops everything: open streams flush what is queued and end (up to closeTimeoutMs), snapshot
   * transfers are aborted, the listeners close and inbound connections are cut. Idempotent: every
   * call returns the same promise. No callback runs after it resolves.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closed';
    if (this.starting !== null) await this.starting.catch(() => undefined);
    await Promise.all([...this.peers.values()].map((p) => p.close(true)));
    this.receiver.close();
    this.calls.close();
    await this.closeServers();
    this.unreachable.clear();
    this.snapshotStatus.length = 0;
    this.opts.logger.info({ member: fmtId(this.opts.selfId) }, 'peer transport closed');
  }

  private async closeServers(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    for (const detach of this.detachTls.splice(0)) detach();
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.listening) return resolve();
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  // ---- host side: reports and deliveries ---------------------------------------------

  private reportUnreachable(id: NodeId): void {
    if (this.state === 'closed') return;
    this.unreachable.add(id);
    this.scheduleReports();
  }

  private reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.state === 'closed') return;
    this.snapshotStatus.push([id, ok]);
    this.scheduleReports();
  }

  private scheduleReports(): void {
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    queueMicrotask(() => this.flushReports());
  }

  private flushReports(): void {
    this.reportScheduled = false;
    const ids = [...this.unreachable];
    this.unreachable.clear();
    const snaps = this.snapshotStatus.splice(0);
    // Same order as etcd: unreachable first, so raft moves the follower to probe before it learns the snapshot failed.
    for (const id of ids) if (this.state !== 'closed' && this.peers.has(id)) this.callback('onUnreachable', () => this.onUnreachable(id));
    for (const [id, ok] of snaps) if (this.state !== 'closed' && this.peers.has(id)) this.callback('onSnapshotStatus', () => this.onSnapshotStatus(id, ok));
  }

  private deliver(msg: Message): void {
    if (this.state === 'closed') return;
    this.callback('onMessage', () => this.onMessage(msg));
  }

  private callback(name: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      // The owner's bug, but it must not kill a peer's stream or the report loop.
      this.opts.logger.error({ callback: name, err: e instanceof Error ? e.message : String(e) }, 'transport callback threw');
    }
  }
}

function defaultPort(url: URL): number {
  return url.protocol === 'https:' ? 443 : 80;
}
