// The watch checker: every watcher's recorded observations against a replay of the committed
// history (GUARANTEES W1–W6, with W7/W8's start-revision, range, filter and prev_kv rules folded
// into "the expected events"). Pure functions over plain data, so checker.test.ts can show each
// rule catching a hand-made violation.
//
// The replay is the event list of one full-range watch from revision 1 opened before any
// compaction (fault-run.ts keeps the compactor behind it). It is trusted only after
// checkHistory() cross-checked it: revisions contiguous from 2 to the final revision, every event
// consistent with the key's previous state (create revision, version, prev_kv), every PUT value
// one that a client attempted, every acknowledged write present at its acknowledged revision, and
// the state it ends in equal to a final linearizable read.

export const PUT = 0;
export const DELETE = 1;

export interface KvState {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

/** An event as a watcher saw it (a DELETE's kv carries only key and modRevision). */
export interface ObservedEvent {
  type: 0 | 1;
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  prevKv: KvState | null;
}

export type Observation =
  /** The created answer; `revision` is its header revision. */
  | { kind: 'created'; revision: number }
  | { kind: 'events'; events: ObservedEvent[] }
  /** A progress notification (requested or periodic) at `revision`. */
  | { kind: 'progress'; revision: number }
  | { kind: 'compacted'; compactRevision: number }
  | { kind: 'canceled'; reason: string }
  /** The stream (raw) or watch (client) ended without a cancel: killed member, closed by us. */
  | { kind: 'end'; reason: string };

export interface WatcherSpec {
  key: string;
  /** '' = the single key; '\0' = every key ≥ key. */
  rangeEnd: string;
  /** 0 = from the created answer's header revision + 1. */
  startRevision: number;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
}

export interface WatcherRecord {
  id: string;
  kind: 'raw' | 'client';
  /** Member the watcher was opened on (client watches may move on). */
  member: string;
  spec: WatcherSpec;
  observations: Observation[];
  /** The watcher was still running at the end and was drained to the final revision: it must hold everything. */
  complete: boolean;
}

/** The committed history: events in revision order, list order within a revision. */
export interface Replay {
  events: ReplayEvent[];
  finalRevision: number;
}

export interface ReplayEvent {
  revision: number;
  type: 0 | 1;
  key: string;
  /** The key after the event (value '' and versions 0 for a DELETE). */
  kv: KvState;
  /** The key before the event, null when it did not exist. */
  prev: KvState | null;
}

export function inRange(spec: Pick<WatcherSpec, 'key' | 'rangeEnd'>, key: string): boolean {
  if (spec.rangeEnd === '') return key === spec.key;
  if (spec.rangeEnd === '\0') return key >= spec.key;
  return key >= spec.key && key < spec.rangeEnd;
}

function matches(spec: WatcherSpec, e: ReplayEvent): boolean {
  if (!inRange(spec, e.key)) return false;
  if (e.type === PUT && spec.noPut) return false;
  if (e.type === DELETE && spec.noDelete) return false;
  return true;
}

const show = (e: { type: number; key: string; modRevision?: number; revision?: number }): string =>
  `${e.type === DELETE ? 'DELETE' : 'PUT'} ${e.key}@${e.modRevision ?? e.revision}`;

function sameKv(a: KvState | null, b: KvState | null): boolean {
  if (a === null || b === null) return a === b;
  return a.key === b.key && a.value === b.value && a.createRevision === b.createRevision && a.modRevision === b.modRevision && a.version === b.version;
}

/** Differences between an observed event and the replay's, '' when equal. */
function eventDiff(o: ObservedEvent, e: ReplayEvent, spec: WatcherSpec, maxCompacted: number): string {
  if (o.type !== e.type || o.key !== e.key || o.modRevision !== e.revision) return `got ${show(o)}, replay has ${show(e)}`;
  if (e.type === PUT && (o.value !== e.kv.value || o.createRevision !== e.kv.createRevision || o.version !== e.kv.version)) {
    return `${show(o)}: kv (value ${o.value}, create ${o.createRevision}, version ${o.version}) differs from replay (value ${e.kv.value}, create ${e.kv.createRevision}, version ${e.kv.version})`;
  }
  if (!spec.prevKv) {
    if (o.prevKv !== null) return `${show(o)}: prev_kv sent to a watcher that did not ask for it`;
    return '';
  }
  if (o.prevKv === null) {
    // W8: prev_kv may be nil once its revision is compacted.
    if (e.prev !== null && e.prev.modRevision >= maxCompacted) return `${show(o)}: prev_kv missing (replay: ${e.prev.value}@${e.prev.modRevision})`;
    return '';
  }
  if (!sameKv(o.prevKv, e.prev)) return `${show(o)}: prev_kv ${JSON.stringify(o.prevKv)} differs from replay ${JSON.stringify(e.prev)}`;
  return '';
}

export interface CheckOptions {
  /** Every revision a compaction was requested at (a compacted cancel must name one of them). */
  compactions: readonly number[];
}

/** W1–W6 for one watcher; each violation names its rule. */
export function checkWatcher(rec: WatcherRecord, replay: Replay, opts: CheckOptions): string[] {
  const out: string[] = [];
  const v = (rule: string, msg: string): void => void out.push(`${rec.id} (${rec.kind} on ${rec.member}) ${rule}: ${msg}`);
  const maxCompacted = opts.compactions.reduce((a, b) => Math.max(a, b), 0);
  const created = rec.observations.find((o) => o.kind === 'created');
  let start = rec.spec.startRevision;
  if (start === 0) {
    if (created === undefined) {
      if (rec.observations.some((o) => o.kind === 'events')) v('W5', 'events without a created answer');
      return out;
    }
    start = created.revision + 1;
  }
  const expected = replay.events.filter((e) => e.revision >= start && matches(rec.spec, e));
  const countByRev = new Map<number, number>();
  for (const e of expected) countByRev.set(e.revision, (countByRev.get(e.revision) ?? 0) + 1);

  const received: ObservedEvent[] = [];
  let lastRev = 0;
  let floor = 0; // highest progress revision seen
  let ended = false;
  let canceled = false;
  const seen = new Set<string>();
  for (const o of rec.observations) {
    if (ended && o.kind !== 'end') {
      v('W1', `${o.kind} after the watch was canceled`);
      break;
    }
    switch (o.kind) {
      case 'created':
        break;
      case 'events': {
        if (o.events.length === 0) break;
        const first = o.events[0]!.modRevision;
        if (first === lastRev) v('W3', `revision ${first} split across responses`);
        let prev = -1;
        const inThis = new Map<number, number>();
        for (const e of o.events) {
          if (e.modRevision < prev || e.modRevision < lastRev) v('W1', `${show(e)} after revision ${Math.max(prev, lastRev)}`);
          prev = e.modRevision;
          if (e.modRevision <= floor) v('W6', `${show(e)} after a progress notification at ${floor}`);
          const id = `${e.modRevision}\u0000${e.key}`;
          if (seen.has(id)) v('W2', `${show(e)} delivered twice`);
          seen.add(id);
          inThis.set(e.modRevision, (inThis.get(e.modRevision) ?? 0) + 1);
          received.push(e);
        }
        for (const [rev, n] of inThis) {
          const want = countByRev.get(rev) ?? 0;
          if (n !== want) v('W3', `revision ${rev}: ${n} events in one response, the replay has ${want} matching`);
        }
        lastRev = Math.max(lastRev, prev);
        break;
      }
      case 'progress': {
        if (o.revision < lastRev) v('W6', `progress at ${o.revision} below event revision ${lastRev} already sent`);
        floor = Math.max(floor, o.revision);
        const due = expected.filter((e) => e.revision <= o.revision).length;
        const got = received.filter((e) => e.modRevision <= o.revision).length;
        if (got < due) v('W6', `progress at ${o.revision} with ${due - got} matching events ≤ ${o.revision} not delivered`);
        break;
      }
      case 'compacted': {
        // etcd's rule: a watcher is compacted when the revision it needs next is below the compact revision.
        const needed = Math.max(start, lastRev + 1, floor + 1);
        if (o.compactRevision <= needed) v('W7', `canceled as compacted at ${o.compactRevision}, but the revision it needed (${needed}) was not compacted`);
        if (!opts.compactions.includes(o.compactRevision)) v('W7', `compact revision ${o.compactRevision} was never requested (${opts.compactions.join(',')})`);
        ended = canceled = true;
        break;
      }
      case 'canceled':
        v('W5', `canceled by the server: ${o.reason}`);
        ended = canceled = true;
        break;
      case 'end':
        ended = true;
        break;
    }
  }
  // W4/W5: what arrived is exactly the replay's matching events from the start revision on, with
  // no gap, as far as it got; a watcher that ran to the end got all of them.
  const n = Math.min(received.length, expected.length);
  for (let i = 0; i < n; i++) {
    const d = eventDiff(received[i]!, expected[i]!, rec.spec, maxCompacted);
    if (d !== '') {
      v(i === 0 ? 'W5' : 'W4', `event #${i}: ${d}`);
      break;
    }
  }
  if (received.length > expected.length) v('W4', `${received.length - expected.length} events beyond the replay (first: ${show(received[expected.length]!)})`);
  if (rec.complete && !canceled && received.length < expected.length) {
    v('W4', `missing ${expected.length - received.length} events at the end (first missing: ${show(expected[received.length]!)}; last received revision ${lastRev})`);
  }
  return out;
}

// -------------------------------------------------------------------------------------------
// The history itself.

export interface AttemptedWrite {
  id: number;
  /** 'ok': acknowledged at `revision`; 'unknown': may or may not have happened; 'failed': provably not. */
  outcome: 'ok' | 'unknown' | 'failed';
  revision: number;
  /** Keys and values it writes (each value written once in the whole run). */
  puts: Array<{ key: string; value: string }>;
  /** Delete ranges it applies, and (when acknowledged) how many keys they deleted in total. */
  deletes: Array<{ key: string; rangeEnd: string }>;
  deleted: number;
}

export interface HistoryCheck {
  replay: Replay;
  problems: string[];
}

/**
 * Builds the replay from a full-range, prev_kv watch from revision 1 and checks it against the
 * writes the clients made and the final state.
 */
export function checkHistory(
  events: readonly ObservedEvent[],
  writes: readonly AttemptedWrite[],
  final: { revision: number; kvs: KvState[] },
): HistoryCheck {
  const problems: string[] = [];
  const p = (m: string): void => void problems.push(`history: ${m}`);
  const state = new Map<string, KvState>();
  const replay: ReplayEvent[] = [];
  const byValue = new Map<string, AttemptedWrite>();
  for (const w of writes) for (const put of w.puts) byValue.set(`${put.key}\u0000${put.value}`, w);
  const applied = new Set<number>();
  let lastRev = 1;
  for (const e of events) {
    if (e.modRevision < lastRev) p(`${show(e)} after revision ${lastRev}`);
    if (e.modRevision > lastRev + 1) p(`revisions ${lastRev + 1}..${e.modRevision - 1} missing`);
    lastRev = Math.max(lastRev, e.modRevision);
    const before = state.get(e.key) ?? null;
    if (!sameKv(e.prevKv, before)) p(`${show(e)}: prev_kv ${JSON.stringify(e.prevKv)}, the replay had ${JSON.stringify(before)}`);
    if (e.type === PUT) {
      const want = { key: e.key, value: e.value, createRevision: before?.createRevision ?? e.modRevision, modRevision: e.modRevision, version: (before?.version ?? 0) + 1 };
      if (!sameKv(want, e)) p(`${show(e)}: create ${e.createRevision} version ${e.version}, expected create ${want.createRevision} version ${want.version}`);
      state.set(e.key, want);
      const w = byValue.get(`${e.key}\u0000${e.value}`);
      if (w === undefined) p(`${show(e)} = ${e.value}: no client wrote this`);
      else if (w.outcome === 'failed') p(`${show(e)} = ${e.value}: written by #${w.id}, whose request provably failed`);
      else if (w.outcome === 'ok' && w.revision !== e.modRevision) p(`${show(e)} = ${e.value}: #${w.id} was acknowledged at revision ${w.revision}`);
      if (w !== undefined) applied.add(w.id);
      replay.push({ revision: e.modRevision, type: PUT, key: e.key, kv: want, prev: before });
    } else {
      if (before === null) p(`${show(e)}: deletes a key that did not exist`);
      state.delete(e.key);
      replay.push({ revision: e.modRevision, type: DELETE, key: e.key, kv: { key: e.key, value: '', createRevision: 0, modRevision: e.modRevision, version: 0 }, prev: before });
    }
  }
  if (lastRev !== final.revision) p(`the history ends at revision ${lastRev}, the final read is at ${final.revision}`);
  // Every acknowledged write is in the history at its revision, whole.
  const atRev = new Map<number, ReplayEvent[]>();
  for (const e of replay) (atRev.get(e.revision) ?? atRev.set(e.revision, []).get(e.revision)!).push(e);
  for (const w of writes) {
    if (w.outcome !== 'ok') continue;
    const evs = atRev.get(w.revision) ?? [];
    const writesSomething = w.puts.length > 0 || w.deleted > 0;
    if (!writesSomething) continue;
    for (const put of w.puts) {
      if (!evs.some((e) => e.type === PUT && e.key === put.key && e.kv.value === put.value)) p(`acknowledged write #${w.id} (${put.key}=${put.value} at ${w.revision}) is not in the history`);
    }
    const dels = evs.filter((e) => e.type === DELETE).length;
    if (dels !== w.deleted) p(`acknowledged write #${w.id} deleted ${w.deleted} keys at ${w.revision}; the history has ${dels} DELETE events there`);
    if (evs.length !== w.puts.length + w.deleted) p(`revision ${w.revision}: ${evs.length} events, acknowledged write #${w.id} made ${w.puts.length + w.deleted}`);
  }
  // The replay's final state is what a linearizable read of everything returns.
  const finalMap = new Map(final.kvs.map((kv) => [kv.key, kv]));
  for (const [k, kv] of state) if (!sameKv(kv, finalMap.get(k) ?? null)) p(`final state of ${k}: replay ${JSON.stringify(kv)}, read ${JSON.stringify(finalMap.get(k) ?? null)}`);
  for (const [k, kv] of finalMap) if (!state.has(k)) p(`final read has ${k}=${kv.value}, absent from the replay`);
  return { replay: { events: replay, finalRevision: lastRev }, problems };
}
