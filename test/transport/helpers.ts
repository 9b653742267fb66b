// Shared helpers for transport tests: one fixture message of every type, an awaitable event log,
// and members on loopback with their callbacks recorded.

import type { Message, MessageType, NodeId } from '../../src/raft/index.js';
import { Transport } from '../../src/transport/index.js';
import type { TransportLogger, TransportOptions } from '../../src/transport/index.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

type ByType = { [T in MessageType]: Extract<Message, { type: T }> };

/**
 * One message of every variant (the mapped type makes a new variant a compile error here until
 * it gets a fixture), with edge values: the largest safe integers, the largest u64 ID, empty and
 * non-empty bytes, null contexts.
 */
export function fixtures(from: NodeId, to: NodeId): Message[] {
  const big = Number.MAX_SAFE_INTEGER;
  const ents = [
    { term: 1, index: 1, type: 'normal' as const, data: new Uint8Array(0) },
    { term: 2, index: 300, type: 'confChange' as const, data: enc('conf') },
    { term: big, index: big, type: 'normal' as const, data: new Uint8Array(1000).fill(7) },
  ];
  const all: ByType = {
    hup: { type: 'hup', from, to, term: 0 },
    beat: { type: 'beat', from, to, term: 1 },
    checkQuorum: { type: 'checkQuorum', from, to, term: 2 },
    unreachable: { type: 'unreachable', from, to, term: 3 },
    snapStatus: { type: 'snapStatus', from, to, term: 4, reject: true },
    prop: { type: 'prop', from, to, term: 0, entries: ents },
    app: { type: 'app', from, to, term: 5, index: 127, logTerm: 128, commit: big, entries: ents },
    appResp: { type: 'appResp', from, to, term: 6, index: 9, reject: true, rejectHint: 8, logTerm: 3 },
    vote: { type: 'vote', from, to, term: 7, index: 10, logTerm: 6, transfer: true },
    voteResp: { type: 'voteResp', from, to, term: 7, reject: false },
    preVote: { type: 'preVote', from, to, term: 8, index: 11, logTerm: 7 },
    preVoteResp: { type: 'preVoteResp', from, to, term: 8, reject: true },
    snap: {
      type: 'snap',
      from,
      to,
      term: 9,
      snapshot: { data: enc('state machine bytes'), metadata: { index: 100, term: 9, confState: { voters: [1n, 2n, (1n << 64n) - 1n], learners: [4n] } } },
    },
    heartbeat: { type: 'heartbeat', from, to, term: 10, commit: 99, context: enc('ctx') },
    heartbeatResp: { type: 'heartbeatResp', from, to, term: 10, context: null },
    transferLeader: { type: 'transferLeader', from, to, term: 11, transferee: (1n << 64n) - 2n },
    timeoutNow: { type: 'timeoutNow', from, to, term: 12 },
    readIndex: { type: 'readIndex', from, to, term: 0, context: enc('read-1') },
    readIndexResp: { type: 'readIndexResp', from, to, term: 13, index: 55, context: new Uint8Array(0) },
  };
  return Object.values(all);
}

/** An append with a recognizable index, for ordering tests. */
export function app(from: NodeId, to: NodeId, index: number, payload = 8): Message {
  return { type: 'app', from, to, term: 1, index, logTerm: 1, commit: 0, entries: [{ term: 1, index: index + 1, type: 'normal', data: new Uint8Array(payload).fill(index % 251) }] };
}

/**
 * Events recorded from callbacks; `next` resolves when a matching one arrives (or already has).
 * The timeout is only a safety net so a broken test fails instead of hanging.
 */
export class Events<T> {
  readonly all: T[] = [];
  private consumed = 0;
  private waiters: { pred: (v: T) => boolean; resolve: (v: T) => void }[] = [];
  private listeners: ((v: T) => void)[] = [];

  push = (v: T): void => {
    this.all.push(v);
    for (const l of [...this.listeners]) l(v);
    const w = this.waiters.find((x) => x.pred(v));
    if (w !== undefined) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      this.consumed = this.all.length;
      w.resolve(v);
    }
  };

  /** The next event after those already returned by next(), matching `pred`. */
  next(pred: (v: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
    for (let i = this.consumed; i < this.all.length; i++) {
      if (pred(this.all[i]!)) {
        this.consumed = i + 1;
        return Promise.resolve(this.all[i]!);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for an event`));
      }, timeoutMs);
      const done = (v: T): void => {
        clearTimeout(timer);
        resolve(v);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /** Calls `fn` for every later event matching `pred`; returns the unsubscribe function. */
  on(pred: (v: T) => boolean, fn: (v: T) => void): () => void {
    const l = (v: T): void => {
      if (pred(v)) fn(v);
    };
    this.listeners.push(l);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  /** Resolves once `n` events in total have arrived. */
  async count(n: number, timeoutMs = 10_000): Promise<T[]> {
    while (this.all.length < n) await this.next(() => true, timeoutMs);
    return this.all.slice(0, n);
  }
}

export interface Member {
  id: NodeId;
  t: Transport;
  inbox: Events<Message>;
  unreachable: Events<NodeId>;
  snaps: Events<[NodeId, boolean]>;
  logs: Events<{ level: string; msg: string; obj: Record<string, unknown> }>;
}

export function recordingLogger(sink: Events<{ level: string; msg: string; obj: Record<string, unknown> }>): TransportLogger {
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => sink.push({ level, msg, obj });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export type MemberOptions = Partial<Omit<TransportOptions, 'selfId' | 'onMessage' | 'onUnreachable' | 'onSnapshotStatus'>>;

/** A started member on 127.0.0.1 with a free port. */
export async function member(id: NodeId, opts: MemberOptions = {}): Promise<Member> {
  const inbox = new Events<Message>();
  const unreachable = new Events<NodeId>();
  const snaps = new Events<[NodeId, boolean]>();
  const logs = new Events<{ level: string; msg: string; obj: Record<string, unknown> }>();
  const t = new Transport({
    selfId: id,
    clusterId: 0xc105n,
    listenUrls: ['http://127.0.0.1:0'],
    logger: recordingLogger(logs),
    minBackoffMs: 5,
    maxBackoffMs: 50,
    ...opts,
    onMessage: inbox.push,
    onUnreachable: unreachable.push,
    onSnapshotStatus: (peer, ok) => snaps.push([peer, ok]),
  });
  await t.start();
  return { id, t, inbox, unreachable, snaps, logs };
}

/** Two started members that know each other. */
export async function pair(a: MemberOptions = {}, b: MemberOptions = {}): Promise<[Member, Member]> {
  const ma = await member(1n, a);
  const mb = await member(2n, b);
  ma.t.addPeer(2n, [mb.t.listenUrl]);
  mb.t.addPeer(1n, [ma.t.listenUrl]);
  return [ma, mb];
}

import { FakeTimers } from '../harness/fake-timers.js';
export { FakeTimers };
