// A watcher and the groups that index watchers by key: single-key watchers in a Map (one lookup per
// event), range watchers in an interval tree (one stab per event), as etcd's watcher_group.go does.
import { byteString, IntervalTree, type Interval } from '../adt/index.js';
import type { ChangeEvent } from '../mvcc/index.js';
import type { WatchStream } from './stream.js';

/**
 * Where a watcher stands. The hub keeps one promise per state:
 *
 * - `synced`: every matching event with a revision in [nextRev, hub revision] is already in its
 *   stream's buffer (or was read from it), and each new revision is handed over by notify. A
 *   watcher with nextRev > hub revision + 1 started in the future and waits.
 * - `unsynced`: every matching event with a revision < nextRev is in the buffer; the ones from
 *   nextRev on are read back from the history by catch-up rounds, until nextRev passes the hub
 *   revision and the watcher joins `synced`. A watcher lands here when it starts in the past, when
 *   its stream's buffer was full at a notify (slow consumer), or after a snapshot restore.
 * - `canceled`: no more events, ever. A watcher canceled by the hub (compaction) keeps its ID on
 *   its stream until the client cancels it, as etcd does.
 *
 * Worked example: hub at revision 10, a watcher created with start_revision 4 is unsynced with
 * nextRev 4. A round reads the history [4, …]; the page ends at 12 but the hub has only been told
 * about 10 (11 and 12 are committed, not yet notified), so it delivers 4..10 and sets nextRev 11 >
 * 10: synced. notify(11) then hands it revision 11. Had its buffer been full at notify(11), it
 * would go back to unsynced with nextRev 11 and read 11 from the history later.
 */
export type WatcherState = 'synced' | 'unsynced' | 'canceled';

export class Watcher {
  state: WatcherState = 'unsynced';
  /** See WatcherState: the first revision this watcher may still need. */
  nextRev = 0;
  /** Events were queued since the last periodic progress tick (etcd then skips one notification). */
  sentSinceTick = false;
  /** byteString of the key, for single-key watchers: their Map key. */
  readonly keyString: string | undefined;

  constructor(
    readonly stream: WatchStream,
    readonly id: number,
    readonly range: Interval,
    readonly single: boolean,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly prevKv: boolean,
    readonly progressNotify: boolean,
    readonly fragment: boolean,
  ) {
    this.keyString = single ? byteString(range.start) : undefined;
  }

  /** False when a filter drops this event (NOPUT, NODELETE). */
  wants(ev: ChangeEvent): boolean {
    return ev.type === 'put' ? !this.noPut : !this.noDelete;
  }
}

/** A set of watchers indexed by what they watch. A watcher is in at most one group. */
export class WatcherGroup {
  private readonly keys = new Map<string, Set<Watcher>>();
  private readonly ranges = new IntervalTree<Set<Watcher>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(w: Watcher): void {
    if (w.single) {
      const k = w.keyString as string;
      let set = this.keys.get(k);
      if (set === undefined) this.keys.set(k, (set = new Set()));
      if (!set.has(w)) this.count++;
      set.add(w);
    } else {
      let set = this.ranges.get(w.range);
      if (set === undefined) this.ranges.set(w.range, (set = new Set()));
      if (!set.has(w)) this.count++;
      set.add(w);
    }
  }

  delete(w: Watcher): boolean {
    if (w.single) {
      const k = w.keyString as string;
      const set = this.keys.get(k);
      if (set === undefined || !set.delete(w)) return false;
      if (set.size === 0) this.keys.delete(k);
    } else {
      const set = this.ranges.get(w.range);
      if (set === undefined || !set.delete(w)) return false;
      if (set.size === 0) this.ranges.delete(w.range);
    }
    this.count--;
    return true;
  }

  /** Calls `fn` for every watcher whose key or range holds `key`. */
  forEachMatching(key: Uint8Array, fn: (w: Watcher) => void): void {
    if (this.keys.size > 0) {
      const set = this.keys.get(byteString(key));
      if (set !== undefined) for (const w of set) fn(w);
    }
    if (this.ranges.size > 0) {
      this.ranges.stab(key, (_ivl, set) => {
        for (const w of set) fn(w);
      });
    }
  }

  *[Symbol.iterator](): IterableIterator<Watcher> {
    for (const set of this.keys.values()) yield* set;
    for (const [, set] of this.ranges.entries()) yield* set;
  }
}
