// WatchHub: one per member. The server tells it about every applied revision, in order, with all
// the events of that revision together (notify); it fans them out to the watchers of every open
// WatchStream, catches watchers that start in the past up from the store's history, sends progress
// notifications, and cancels watchers whose history was compacted away.
//
// The guarantees (GUARANTEES.md W1-W7, W11) rest on one invariant per watcher state (watcher.ts)
// and on one rule: the hub's own `revision`, the last revision notified, is the only "now" it
// knows. Catch-up reads the store, which may already hold revisions committed but not yet
// notified; those are left for notify, so each revision reaches a watcher exactly once, either
// from the history or from notify, never both and never neither:
//
//   notify(r):   synced watchers get r now; unsynced ones have nextRev <= r, so they read it later.
//   catch-up:    delivers [nextRev, min(page end, revision)] and sets nextRev past it; the watcher
//                joins `synced` only once nextRev > revision, i.e. before the next notify.
//   no room:     at notify(r) a synced watcher whose stream is full goes unsynced with nextRev = r
//                (it has everything before r), and reads r from the history once the consumer
//                drains. If the history was compacted past nextRev meanwhile, it is canceled with
//                the compact revision: never a silent gap, and the hub holds no per-watcher backlog.
//
// Everything runs on the event loop in short synchronous steps: a catch-up round reads one page
// of history for up to maxWatchersPerSync watchers, then yields (Timers.after(0)).
import { containsPoint } from '../adt/index.js';
import { MvccError, type ChangeEvent, type HistoryPage } from '../mvcc/index.js';
import type { ResponseHeader } from '../wire/index.js';
import { INVALID_WATCH_ID } from '../wire/index.js';
import { compactedMessage, eventMessages, EventTexts, progressMessage, type WatchMessage } from './encode.js';
import { WatchError } from './errors.js';
import { WatchStream, type StreamHost, type WatchStreamOptions } from './stream.js';
import { NODE_TIMERS, type Timers } from './timers.js';
import { Watcher, WatcherGroup } from './watcher.js';

/**
 * What the hub reads from the store (KvStore implements it): the history for catch-up and the
 * compaction point. Owned here so the hub depends on three members, not on all of KvStore.
 */
export interface HistorySource {
  readonly currentRevision: number;
  readonly compactRevision: number;
  /** Events of revisions >= from; throws MvccError COMPACTED below the compact revision. */
  changes(fromRevision: number, opts: { limit?: number; prevKv?: boolean }): HistoryPage;
}

/** The parts of a response header the hub does not know (the server's identity and term). */
export interface HeaderFields {
  clusterId: bigint;
  memberId: bigint;
  raftTerm: number;
}

export interface WatchHubOptions {
  timers?: Timers;
  /** Interval of progress notifications to watchers created with progress_notify (etcd: 10 min). */
  progressIntervalMs?: number;
  /** Events per history page in catch-up (a page never splits a revision). */
  syncPageEvents?: number;
  /** Most unsynced watchers served by one catch-up round (etcd's maxWatchersPerSync). */
  maxWatchersPerSync?: number;
  /** Delay before retrying a catch-up round that could not progress (the store lagged the hub). */
  syncRetryMs?: number;
  /** Per-stream buffer bound, unless the stream sets its own. */
  maxBufferedBytes?: number;
  /** Responses of watchers created with `fragment` are split at this many bytes (etcd: --max-request-bytes). */
  fragmentBytes?: number;
  /** Header identity for responses; called per response. Defaults to zeros. */
  header?: () => HeaderFields;
  /** The revision the hub starts at (default: the source's current revision). */
  revision?: number;
  /** Called once when the hub cannot go on (WatchError HISTORY_FAILED); the hub closes itself. */
  onFatal?: (err: WatchError) => void;
}

export interface WatchHubStats {
  streams: number;
  synced: number;
  unsynced: number;
  bufferedBytes: number;
}

const ZERO_HEADER: HeaderFields = { clusterId: 0n, memberId: 0n, raftTerm: 0 };

export class WatchHub implements StreamHost {
  private rev: number;
  private readonly synced = new WatcherGroup();
  /** Insertion order is the catch-up order; a watcher served but not finished goes to the back. */
  private readonly unsynced = new Set<Watcher>();
  private readonly streams = new Set<WatchStream>();
  private readonly progressWaiting = new Set<WatchStream>();
  private readonly timers: Timers;
  private readonly progressIntervalMs: number;
  private readonly pageEvents: number;
  private readonly maxPerSync: number;
  private readonly retryMs: number;
  private readonly maxBufferedBytes: number | undefined;
  private readonly fragmentBytes: number;
  private readonly headerFields: () => HeaderFields;
  private readonly onFatal: ((err: WatchError) => void) | undefined;
  private cancelSync: (() => void) | undefined;
  private cancelTick: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly source: HistorySource,
    opts: WatchHubOptions = {},
  ) {
    this.timers = opts.timers ?? NODE_TIMERS;
    this.progressIntervalMs = positive(opts.progressIntervalMs ?? 10 * 60 * 1000, 'progressIntervalMs');
    this.pageEvents = positive(opts.syncPageEvents ?? 1000, 'syncPageEvents');
    this.maxPerSync = positive(opts.maxWatchersPerSync ?? 512, 'maxWatchersPerSync');
    this.retryMs = positive(opts.syncRetryMs ?? 100, 'syncRetryMs');
    this.maxBufferedBytes = opts.maxBufferedBytes === undefined ? undefined : positive(opts.maxBufferedBytes, 'maxBufferedBytes');
    this.fragmentBytes = positive(opts.fragmentBytes ?? 1572864, 'fragmentBytes');
    this.headerFields = opts.header ?? (() => ZERO_HEADER);
    this.onFatal = opts.onFatal;
    this.rev = opts.revision ?? source.currentRevision;
    if (!Number.isSafeInteger(this.rev) || this.rev < 0) throw new TypeError('revision must be a non-negative integer');
    this.cancelTick = this.timers.after(this.progressIntervalMs, () => this.tick());
  }

  /** The last revision notified: "now" for every watcher of this hub. */
  get revision(): number {
    return this.rev;
  }

  /** Opens a stream for one client connection. Throws WatchError CLOSED once the hub is closed. */
  openStream(opts: WatchStreamOptions = {}): WatchStream {
    if (this.closing) throw new WatchError('CLOSED');
    const s = new WatchStream(this, { ...opts, maxBufferedBytes: opts.maxBufferedBytes ?? this.maxBufferedBytes });
    this.streams.add(s);
    return s;
  }

  /**
   * The events of one applied revision, all of them, in order (sub-revision order). Must be called
   * once per revision, in increasing order, after the revision is visible to reads of the store
   * (its events are in the history). Every event must carry `prevKv` when the key had a live value
   * (KvStore.apply's events do): the hub never looks it up.
   */
  notify(revision: number, events: readonly ChangeEvent[]): void {
    if (this.closing) return;
    if (!Number.isSafeInteger(revision) || revision <= this.rev) {
      throw new TypeError(`watch: notify(${revision}) after revision ${this.rev}: revisions must increase`);
    }
    for (const ev of events) {
      if (ev.kv.modRevision !== revision) throw new TypeError(`watch: an event of revision ${ev.kv.modRevision} notified as ${revision}`);
    }
    this.rev = revision;
    if (this.synced.size > 0 && events.length > 0) this.fanOut(revision, events);
    this.answerProgress();
  }

  /** Convenience for the apply path: notify every entry's events (ApplyResult.events), in order. */
  notifyApplied(eventsPerEntry: readonly (readonly ChangeEvent[])[]): void {
    for (const events of eventsPerEntry) {
      const first = events[0];
      if (first !== undefined) this.notify(first.kv.modRevision, events);
    }
  }

  /**
   * The store was replaced by a snapshot at `revision` (a follower that fell behind). The hub has
   * not seen the revisions in between, so every synced watcher goes back to catch-up from where it
   * stands; the new history provides them, or the watcher is canceled as compacted.
   */
  restored(revision: number): void {
    if (this.closing) return;
    if (!Number.isSafeInteger(revision) || revision < this.rev) throw new TypeError(`watch: restored(${revision}) is behind revision ${this.rev}`);
    for (const w of [...this.synced]) {
      this.synced.delete(w);
      w.nextRev = Math.max(w.nextRev, this.rev + 1);
      w.state = 'unsynced';
      this.unsynced.add(w);
    }
    this.rev = revision;
    this.scheduleSync(0);
  }

  stats(): WatchHubStats {
    let bufferedBytes = 0;
    for (const s of this.streams) bufferedBytes += s.buffered.bytes;
    return { streams: this.streams.size, synced: this.synced.size, unsynced: this.unsynced.size, bufferedBytes };
  }

  /** The auth state changed: every stream re-checks its watchers (WatchStream.reauthorize). */
  reauthorize(): number {
    let canceled = 0;
    for (const s of this.streams) canceled += s.reauthorize();
    return canceled;
  }

  /** Ends every stream (their iterations finish) and stops the timers. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = Promise.resolve();
      this.cancelSync?.();
      this.cancelTick?.();
      for (const s of [...this.streams]) s.close();
    }
    return this.closing;
  }

  // --- StreamHost --------------------------------------------------------------------------

  header(revision: number): ResponseHeader {
    const h = this.headerFields();
    return { clusterId: h.clusterId, memberId: h.memberId, revision, raftTerm: h.raftTerm };
  }

  register(w: Watcher, startRevision: number): void {
    if (startRevision === 0 || startRevision > this.rev) {
      // From now on, or from the future: nothing to read back.
      w.nextRev = startRevision === 0 ? this.rev + 1 : startRevision;
      w.state = 'synced';
      this.synced.add(w);
    } else {
      w.nextRev = startRevision;
      w.state = 'unsynced';
      this.unsynced.add(w);
      this.scheduleSync(0);
    }
  }

  unregister(w: Watcher): void {
    if (w.state === 'synced') this.synced.delete(w);
    else if (w.state === 'unsynced') this.unsynced.delete(w);
  }

  drained(stream: WatchStream): void {
    if (this.streams.has(stream)) this.scheduleSync(0);
  }

  progressRequested(stream: WatchStream): void {
    this.progressWaiting.add(stream);
    this.answerProgress();
  }

  streamClosed(stream: WatchStream): void {
    this.streams.delete(stream);
    this.progressWaiting.delete(stream);
  }

  // --- fan-out -----------------------------------------------------------------------------

  private fanOut(revision: number, events: readonly ChangeEvent[]): void {
    // Which events each synced watcher gets, in event order (W1: txn events keep list order).
    const hits = new Map<Watcher, number[]>();
    for (let i = 0; i < events.length; i++) {
      const ev = events[i] as ChangeEvent;
      this.synced.forEachMatching(ev.kv.key, (w) => {
        if (revision < w.nextRev || !w.wants(ev)) return;
        const list = hits.get(w);
        if (list === undefined) hits.set(w, [i]);
        else list.push(i);
      });
    }
    if (hits.size === 0) return;
    const texts = new EventTexts(events);
    const header = this.header(revision);
    for (const [w, indices] of hits) {
      if (!w.stream.hasRoom()) {
        // Slow consumer: back to catch-up, holding nothing but nextRev (W11).
        this.synced.delete(w);
        w.state = 'unsynced';
        w.nextRev = revision;
        this.unsynced.add(w);
        w.stream.starved = true;
        continue;
      }
      // W3: all of this revision's events for w in one response (unless w asked for fragments).
      this.send(w, eventMessages(header, w.id, texts, indices, w.prevKv, w.fragment ? this.fragmentBytes : 0));
    }
  }

  private send(w: Watcher, messages: readonly WatchMessage[]): void {
    for (const m of messages) w.stream.enqueue(m);
    w.sentSinceTick = true;
  }

  // --- catch-up ----------------------------------------------------------------------------

  private scheduleSync(ms: number): void {
    if (this.cancelSync !== undefined || this.closing || this.unsynced.size === 0) return;
    this.cancelSync = this.timers.after(ms, () => {
      this.cancelSync = undefined;
      const r = this.syncRound();
      if (r === 'progress') this.scheduleSync(0);
      else if (r === 'lagging') this.scheduleSync(this.retryMs);
    });
  }

  /**
   * One catch-up round: one page of history for up to maxWatchersPerSync unsynced watchers whose
   * streams have room. 'progress' when something moved, 'idle' when nothing can (no unsynced
   * watcher, or all wait for their consumers), 'lagging' when the store's history did not yet
   * reach the hub's revision (retry later).
   */
  private syncRound(): 'progress' | 'idle' | 'lagging' {
    if (this.closing || this.unsynced.size === 0) return 'idle';
    const batch: Watcher[] = [];
    for (const w of this.unsynced) {
      if (!w.stream.hasRoom()) {
        w.stream.starved = true;
        continue;
      }
      batch.push(w);
      if (batch.length >= this.maxPerSync) break;
    }
    if (batch.length === 0) return 'idle';

    let page: HistoryPage | undefined;
    let live: Watcher[] = [];
    let minRev = 0;
    for (let attempt = 0; page === undefined; attempt++) {
      const compact = this.source.compactRevision;
      live = [];
      minRev = Number.MAX_SAFE_INTEGER;
      let wantPrev = false;
      for (const w of batch) {
        if (w.state !== 'unsynced') continue;
        if (w.nextRev > this.rev) {
          this.promote(w);
        } else if (w.nextRev < compact) {
          // W7/W11: the history this watcher needs is gone.
          this.cancelCompacted(w, compact);
        } else {
          live.push(w);
          if (w.nextRev < minRev) minRev = w.nextRev;
          wantPrev ||= w.prevKv;
        }
      }
      if (live.length === 0) break;
      try {
        page = this.source.changes(minRev, { limit: this.pageEvents, prevKv: wantPrev });
      } catch (err) {
        // A compaction landed between reading compactRevision and the page: look again.
        if (err instanceof MvccError && err.code === 'COMPACTED' && attempt < 3) continue;
        this.fatal(err);
        return 'idle';
      }
    }
    if (page !== undefined) {
      const upto = Math.min(page.nextRevision - 1, this.rev);
      if (upto < minRev) return 'lagging';
      this.deliverPage(live, page.events, upto);
    }
    // Served watchers that are still behind go to the back, so a large backlog cannot starve the rest.
    for (const w of batch) {
      if (w.state === 'unsynced') {
        this.unsynced.delete(w);
        this.unsynced.add(w);
      }
    }
    this.answerProgress();
    return 'progress';
  }

  /** Hands each watcher its matching events of the page with revisions in [nextRev, upto]. */
  private deliverPage(live: readonly Watcher[], events: readonly ChangeEvent[], upto: number): void {
    // The events the hub may deliver now: the page minus revisions not yet notified.
    let n = events.length;
    while (n > 0 && (events[n - 1] as ChangeEvent).kv.modRevision > upto) n--;
    const usable = n === events.length ? events : events.slice(0, n);
    const hits = new Map<Watcher, number[]>();
    const add = (w: Watcher, i: number, ev: ChangeEvent): void => {
      if (ev.kv.modRevision < w.nextRev || !w.wants(ev)) return;
      const list = hits.get(w);
      if (list === undefined) hits.set(w, [i]);
      else list.push(i);
    };
    if (live.length <= 4) {
      for (let i = 0; i < usable.length; i++) {
        const ev = usable[i] as ChangeEvent;
        for (const w of live) if (containsPoint(w.range, ev.kv.key)) add(w, i, ev);
      }
    } else {
      const group = new WatcherGroup();
      for (const w of live) group.add(w);
      for (let i = 0; i < usable.length; i++) {
        const ev = usable[i] as ChangeEvent;
        group.forEachMatching(ev.kv.key, (w) => add(w, i, ev));
      }
    }
    const texts = new EventTexts(usable);
    // The header says how far the watcher is now caught up, which is never beyond the hub's revision.
    const header = this.header(upto);
    for (const w of live) {
      const indices = hits.get(w);
      if (indices !== undefined) {
        // Another watcher of the same stream may have used the room: w stays where it is.
        if (!w.stream.hasRoom()) {
          w.stream.starved = true;
          continue;
        }
        this.send(w, eventMessages(header, w.id, texts, indices, w.prevKv, w.fragment ? this.fragmentBytes : 0));
      }
      // A watcher ahead of the page's start may also be ahead of its end: never move it back.
      if (w.nextRev <= upto) w.nextRev = upto + 1;
      if (w.nextRev > this.rev) this.promote(w);
    }
  }

  private promote(w: Watcher): void {
    this.unsynced.delete(w);
    w.state = 'synced';
    this.synced.add(w);
  }

  private cancelCompacted(w: Watcher, compactRevision: number): void {
    this.unsynced.delete(w);
    w.state = 'canceled';
    // The ID stays taken on the stream until the client cancels it, as in etcd.
    w.stream.enqueue(compactedMessage(this.header(this.rev), w.id, compactRevision));
  }

  // --- progress ----------------------------------------------------------------------------

  /**
   * Answers pending progress requests of streams whose watchers are all synced and not waiting
   * for a future start: the answer at revision R then means every event <= R is already queued
   * before it (W6), and a client resuming at R+1 asks for nothing older than its start.
   */
  private answerProgress(): void {
    if (this.progressWaiting.size === 0) return;
    for (const s of [...this.progressWaiting]) {
      if (!s.progressPending) {
        this.progressWaiting.delete(s);
        continue;
      }
      let ready = true;
      for (const w of s.watchers.values()) {
        if (w.state === 'unsynced' || (w.state === 'synced' && w.nextRev > this.rev + 1)) {
          ready = false;
          break;
        }
      }
      if (!ready) continue;
      s.progressPending = false;
      this.progressWaiting.delete(s);
      s.enqueue(progressMessage(this.header(this.rev), INVALID_WATCH_ID));
    }
  }

  /**
   * The periodic notification to watchers created with progress_notify: only when synced, not
   * waiting for a future start, with room in the buffer, and (as etcd) not when events were sent
   * since the last tick.
   */
  private tick(): void {
    if (this.closing) return;
    for (const s of this.streams) {
      for (const w of s.watchers.values()) {
        if (!w.progressNotify) continue;
        if (w.state === 'synced' && w.nextRev <= this.rev + 1 && !w.sentSinceTick && s.hasRoom()) {
          s.enqueue(progressMessage(this.header(this.rev), w.id));
        }
        w.sentSinceTick = false;
      }
    }
    this.cancelTick = this.timers.after(this.progressIntervalMs, () => this.tick());
  }

  private fatal(err: unknown): void {
    const e = err instanceof WatchError ? err : new WatchError('HISTORY_FAILED', { cause: err });
    void this.close();
    this.onFatal?.(e);
  }
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new TypeError(`${name} must be a positive integer`);
  return n;
}
