// Fixtures for the watch tests: a real KvStore on LMDB in a temp dir, a WatchHub on test-driven
// timers, the committed log as applied (the replay), and a reader that decodes what a stream sends.
import { KvStore, type ChangeEvent, type WriteRequest } from '../../src/mvcc/index.js';
import { decodeWatchResult, type WatchCreateRequest, type WatchFilterType, type WatchResponse, type PutRequest, type TxnRequest } from '../../src/wire/index.js';
import { WatchHub, type WatchHubOptions, type WatchMessage, type WatchStream } from '../../src/watch/index.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';

export const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
export const dec = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

import { FakeTimers } from '../harness/fake-timers.js';
export { FakeTimers };

export function createReq(key: string, o: Partial<Omit<WatchCreateRequest, 'key' | 'rangeEnd'>> & { end?: string } = {}): WatchCreateRequest {
  const { end, ...rest } = o;
  return {
    key: enc(key),
    rangeEnd: enc(end ?? ''),
    startRevision: 0,
    progressNotify: false,
    filters: [] as WatchFilterType[],
    prevKv: false,
    watchId: 0,
    fragment: false,
    ...rest,
  };
}

export function putReq(key: string, value = ''): PutRequest {
  return { key: enc(key), value: enc(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false };
}

export const w = {
  put: (key: string, value = ''): WriteRequest => ({ type: 'put', put: putReq(key, value) }),
  del: (key: string, end = ''): WriteRequest => ({ type: 'deleteRange', deleteRange: { key: enc(key), rangeEnd: enc(end), prevKv: false } }),
  txn: (puts: [string, string][], dels: string[] = []): WriteRequest => {
    const t: TxnRequest = {
      compare: [],
      success: [
        ...puts.map(([k, v]) => ({ type: 'put' as const, put: putReq(k, v) })),
        ...dels.map((k) => ({ type: 'deleteRange' as const, deleteRange: { key: enc(k), rangeEnd: new Uint8Array(0), prevKv: false } })),
      ],
      failure: [],
    };
    return { type: 'txn', txn: t };
  },
  compact: (revision: number): WriteRequest => ({ type: 'compaction', compaction: { revision, physical: false } }),
};

/** A store, a hub on fake timers, and the log of every committed event (the replay). */
export class Fixture {
  readonly dir: TmpDir = makeTmpDir('keyward-watch-');
  readonly store: KvStore;
  readonly timers = new FakeTimers();
  readonly hub: WatchHub;
  /** Every event applied, in order: the committed log the streams are checked against. */
  readonly log: ChangeEvent[] = [];
  /** Revisions at which a compaction succeeded. */
  readonly compactions: number[] = [];
  /** Events applied but not yet notified (see applyQuietly). */
  private unnotified: ChangeEvent[][] = [];
  private index = 1;

  constructor(opts: WatchHubOptions = {}) {
    this.store = KvStore.open(this.dir.sub('data'));
    this.hub = new WatchHub(this.store, { timers: this.timers, ...opts });
  }

  /** Applies the writes as one batch and notifies the hub, as the server does. */
  async apply(...reqs: WriteRequest[]): Promise<void> {
    await this.applyQuietly(...reqs);
    this.notifyPending();
  }

  /** Applies without notifying: the store is ahead of the hub (committed, not yet notified). */
  async applyQuietly(...reqs: WriteRequest[]): Promise<void> {
    const res = await this.store.apply(reqs.map((request) => ({ index: this.index++, request })), 'committed');
    res.results.forEach((r, i) => {
      const req = reqs[i]!;
      if (r.ok && req.type === 'compaction') this.compactions.push(req.compaction.revision);
    });
    for (const evs of res.events) {
      if (evs.length === 0) continue;
      this.log.push(...evs);
      this.unnotified.push(evs);
    }
  }

  /** Forgets events applied but not notified (the hub was told `restored` instead). */
  dropPending(): void {
    this.unnotified = [];
  }

  notifyPending(): void {
    const pending = this.unnotified;
    this.unnotified = [];
    this.hub.notifyApplied(pending);
  }

  get revision(): number {
    return this.store.currentRevision;
  }

  async close(): Promise<void> {
    await this.hub.close();
    await this.store.close();
    this.dir.cleanup();
  }
}

export async function withFixture(fn: (f: Fixture) => Promise<void>, opts?: WatchHubOptions): Promise<void> {
  const f = new Fixture(opts);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

/** A decoded response with the message it came from. */
export interface Received {
  res: WatchResponse;
  msg: WatchMessage;
}

/** Takes every buffered message of a stream, decoded from its JSON text. */
export function drain(s: WatchStream, max = Number.MAX_SAFE_INTEGER): Received[] {
  const out: Received[] = [];
  for (let i = 0; i < max; i++) {
    const msg = s.poll();
    if (msg === undefined) break;
    out.push({ res: decodeWatchResult(JSON.parse(msg.text)), msg });
  }
  return out;
}

/** A short text form of a response, for readable assertions. */
export function brief(r: WatchResponse): string {
  const parts: string[] = [`id=${r.watchId}`, `rev=${r.header.revision}`];
  if (r.created) parts.push('created');
  if (r.canceled) parts.push('canceled');
  if (r.compactRevision !== 0) parts.push(`compact=${r.compactRevision}`);
  if (r.cancelReason !== '') parts.push(`reason=${JSON.stringify(r.cancelReason)}`);
  if (r.fragment) parts.push('fragment');
  for (const e of r.events) {
    const kv = e.kv!;
    const ev = `${e.type === 1 ? 'DEL' : 'PUT'} ${dec(kv.key)}${e.type === 1 ? '' : `=${dec(kv.value)}`}@${kv.modRevision}`;
    parts.push(e.prevKv === undefined ? ev : `${ev}(prev ${dec(e.prevKv.value)}@${e.prevKv.modRevision})`);
  }
  return parts.join(' ');
}

export function briefAll(rs: Received[]): string[] {
  return rs.map((r) => brief(r.res));
}
