// The watch checker: seeded random histories (puts, deletes, nested txns, compactions) on a real
// KvStore, interleaved with watchers created at random past, current, future and compacted
// revisions on several streams, slow consumers with small buffers, client cancels, stream closes,
// progress requests and ticks, delayed notifications (the store ahead of the hub), snapshot
// restores and catch-up rounds in any order. Every response every stream sends is decoded from its
// JSON text and checked against a replay of the committed log:
//
//   W1/W2/W4/W5  each watcher's events equal the replay's matching events from its start: exactly
//                (still active at the end), or a prefix (canceled by the client, stream closed, or
//                canceled for compaction: then only when its next needed revision was compacted);
//   W3           a response boundary never splits a revision (unless the watcher asked for fragments);
//   W6           a progress notification at R: R >= every event already sent, no later event <= R,
//                and R >= start-1 (resuming at R+1 never reaches before the start);
//   W7           created precedes events, its header is the hub revision; compaction cancels carry
//                a header without revision and a real compaction revision;
//   W8           prev_kv as in the replay (absent only at a compaction revision, or when not asked);
//                is-create exactly when the key was absent before;
//   W11          every stream's buffer stays within its bound plus a small slack.
//
// A failure names its seed and step; rerun one seed with WATCH_SEED=<seed> (and WATCH_STEPS=<n>,
// the same as the failing run's). WATCH_SEEDS=<n> soaks seeds 1..n.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent, WriteRequest } from '../../src/mvcc/index.js';
import { WatchCancelReason, WatchFilterType, type KeyValue, type WatchEvent, type WatchResponse } from '../../src/wire/index.js';
import type { WatchStream } from '../../src/watch/index.js';
import { Gen, mulberry32, norm } from '../mvcc/gen.js';
import { Fixture, drain, enc } from './helpers.js';

interface Spec {
  id: number;
  key: string;
  end: string;
  start: number;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
  fragment: boolean;
  /** Hub revision when the create was made: the created header must say so. */
  hubRev: number;
}

interface Instance {
  spec: Spec;
  effStart: number;
  responses: WatchResponse[];
  events: WatchEvent[];
  end: 'active' | 'client' | 'compacted' | 'closed';
  compactRevision: number;
  /** No event at or below this revision may arrive any more (the last progress notification). */
  floor: number;
}

interface StreamRec {
  s: WatchStream;
  max: number;
  /** Messages read per step: slow consumers read little. */
  readRate: number;
  pending: Map<number, Spec[]>;
  refusals: string[];
  current: Map<number, Instance>;
  zombies: Set<number>;
  /** The IDs the stream holds right now (what decides a duplicate), as the client can know them. */
  used: Set<number>;
  all: Instance[];
  maxSent: number;
  closed: boolean;
}

const KEYS = ['', 'a', 'a/1', 'a/2', 'a0', 'b', 'b\0', 'b\0\0', 'b\x01', 'c', 'd\xff', '\0'];
const ENDS = ['', '', '', '\0', 'a/', 'a0', 'a1', 'b', 'b\0\x01', 'c', 'd', 'e', 'a', '\xff'];
const lat = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

/** The replay's idea of "this watcher covers this key", written independently of src/adt. */
function covers(spec: Spec, key: Uint8Array): boolean {
  const k = Buffer.from(key);
  const start = Buffer.from(spec.key === '' ? '\0' : spec.key, 'latin1');
  if (spec.end === '') return Buffer.compare(k, start) === 0;
  if (spec.end === '\0') return Buffer.compare(k, start) >= 0;
  return Buffer.compare(k, start) >= 0 && Buffer.compare(k, Buffer.from(spec.end, 'latin1')) < 0;
}

const shape = (type: number, kv: KeyValue | undefined): string => norm({ type, kv });

/** What the seeds exercised, summed: the test fails if a path stops being reached. */
const coverage = {
  watchers: 0,
  events: 0,
  compactedCancels: 0,
  clientCancels: 0,
  refusals: 0,
  fragments: 0,
  streamProgress: 0,
  watcherProgress: 0,
  restores: 0,
  laggingSteps: 0,
};

async function runSeed(seed: number, steps: number): Promise<void> {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const f = new Fixture({
    syncPageEvents: pick([1, 2, 5, 50]),
    maxWatchersPerSync: pick([1, 2, 512]),
    progressIntervalMs: 1000,
    fragmentBytes: pick([200, 1 << 20]),
  });
  const model = { rev: 1, compact: 0 };
  const gen = new Gen(r, model);
  const streams: StreamRec[] = [];
  let where = `seed ${seed} setup`;
  const fail = (m: string): never => assert.fail(`${where}: ${m}`);

  const openStream = (): void => {
    const max = pick([150, 400, 2000, 1 << 20]);
    streams.push({
      s: f.hub.openStream({ maxBufferedBytes: max }),
      max,
      readRate: pick([0, 1, 3, 1000]),
      pending: new Map(),
      refusals: [],
      current: new Map(),
      zombies: new Set(),
      used: new Set(),
      all: [],
      maxSent: 0,
      closed: false,
    });
  };

  const receive = (rec: StreamRec, res: WatchResponse): void => {
    const id = res.watchId;
    if (res.created) {
      if (res.canceled) {
        coverage.refusals++;
        const reason = rec.refusals.shift();
        if (reason !== res.cancelReason) fail(`refusal reason ${res.cancelReason}, expected ${reason}`);
        return;
      }
      const spec = rec.pending.get(id)?.shift();
      if (spec === undefined) fail(`created for ${id} without a create`);
      if (res.header.revision !== spec!.hubRev) fail(`created header ${res.header.revision}, hub was at ${spec!.hubRev}`);
      const inst: Instance = {
        spec: spec!,
        effStart: spec!.start === 0 ? spec!.hubRev + 1 : spec!.start,
        responses: [],
        events: [],
        end: 'active',
        compactRevision: 0,
        floor: 0,
      };
      rec.current.set(id, inst);
      rec.all.push(inst);
      coverage.watchers++;
      return;
    }
    if (res.canceled) {
      const inst = rec.current.get(id);
      if (inst === undefined) {
        if (!rec.zombies.delete(id)) fail(`cancel of ${id}, which is not active`);
        return;
      }
      rec.current.delete(id);
      if (res.compactRevision !== 0) {
        inst.end = 'compacted';
        coverage.compactedCancels++;
        inst.compactRevision = res.compactRevision;
        if (res.header.revision !== 0) fail('a compaction cancel carries a header revision');
        rec.zombies.add(id);
      } else {
        inst.end = 'client';
        coverage.clientCancels++;
      }
      return;
    }
    const R = res.header.revision;
    if (res.events.length === 0) {
      // A progress notification.
      if (id === -1) coverage.streamProgress++;
      else coverage.watcherProgress++;
      const targets = id === -1 ? [...rec.current.values()] : [rec.current.get(id)];
      if (id === -1 && R < rec.maxSent) fail(`stream progress at ${R} after an event at ${rec.maxSent}`);
      for (const inst of targets) {
        if (inst === undefined) return fail(`progress for unknown watcher ${id}`);
        const sent = inst.events.length === 0 ? 0 : inst.events[inst.events.length - 1]!.kv!.modRevision;
        if (R < sent) fail(`W6: progress at ${R} for watcher ${inst.spec.id} after its event at ${sent}`);
        if (R + 1 < inst.effStart) fail(`W6: progress at ${R} for watcher ${inst.spec.id} starting at ${inst.effStart}`);
        inst.floor = Math.max(inst.floor, R);
      }
      return;
    }
    const inst = rec.current.get(id);
    if (inst === undefined) return fail(`events for ${id} before its created (or after its cancel)`);
    // Nothing the hub was not told about yet (committed but not notified) is delivered, and the
    // header covers the events it carries.
    if (R > f.hub.revision) fail(`events response at ${R}, beyond the hub revision ${f.hub.revision}`);
    if (res.events[res.events.length - 1]!.kv!.modRevision > R) fail(`events beyond their header revision ${R}`);
    for (const e of res.events) {
      const rev = e.kv!.modRevision;
      if (rev <= inst.floor) fail(`W6: event at ${rev} after progress at ${inst.floor} (watcher ${id})`);
      rec.maxSent = Math.max(rec.maxSent, rev);
    }
    inst.responses.push(res);
    inst.events.push(...res.events);
    coverage.events += res.events.length;
    if (res.fragment) coverage.fragments++;
  };

  const read = (rec: StreamRec, n: number): void => {
    for (const got of drain(rec.s, n)) receive(rec, got.res);
  };

  const create = (rec: StreamRec): void => {
    const key = pick(KEYS);
    const end = pick(ENDS);
    const cur = f.hub.revision;
    const start = pick([0, 0, 1, cur, cur + 1, cur + 1 + Math.floor(r() * 8), Math.max(1, cur - Math.floor(r() * 10)), Math.max(1, model.compact), Math.max(1, model.compact - 1), -1]);
    const filters: number[] = [];
    if (r() < 0.15) filters.push(WatchFilterType.NOPUT);
    if (r() < 0.15) filters.push(WatchFilterType.NODELETE);
    const explicit = r() < 0.1 ? (rec.used.size > 0 && r() < 0.5 ? pick([...rec.used]) : 1000 + Math.floor(r() * 1000)) : 0;
    const req = {
      key: enc(key),
      rangeEnd: enc(end),
      startRevision: start,
      progressNotify: r() < 0.3,
      filters: filters as WatchFilterType[],
      prevKv: r() < 0.5,
      watchId: explicit,
      fragment: r() < 0.3,
    };
    // What the stream must answer, predicted from etcd's rules.
    const k = key === '' ? '\0' : key;
    let refusal: string | undefined;
    if (start < 0) refusal = WatchCancelReason.COMPACTED;
    else if (end !== '' && end !== '\0' && Buffer.compare(Buffer.from(end, 'latin1'), Buffer.from(k, 'latin1')) <= 0) refusal = WatchCancelReason.EMPTY_RANGE;
    else if (explicit !== 0 && rec.used.has(explicit)) refusal = WatchCancelReason.DUPLICATE_ID;
    const id = rec.s.create(req);
    if (refusal !== undefined) {
      if (id !== -1) fail(`create ${norm(req)} accepted as ${id}, expected ${refusal}`);
      rec.refusals.push(refusal);
      return;
    }
    if (id === -1) fail(`create ${norm(req)} refused`);
    if (rec.used.has(id)) fail(`create got ID ${id}, which is in use`);
    rec.used.add(id);
    const spec: Spec = {
      id,
      key,
      end,
      start,
      prevKv: req.prevKv,
      noPut: filters.includes(WatchFilterType.NOPUT),
      noDelete: filters.includes(WatchFilterType.NODELETE),
      progressNotify: req.progressNotify,
      fragment: req.fragment,
      hubRev: cur,
    };
    rec.pending.set(id, [...(rec.pending.get(id) ?? []), spec]);
  };

  const applyWrites = async (notify: boolean): Promise<void> => {
    const reqs: WriteRequest[] = Array.from({ length: 1 + Math.floor(r() * 3) }, () => gen.write());
    if (notify) await f.apply(...reqs);
    else await f.applyQuietly(...reqs);
    model.rev = f.store.currentRevision;
    model.compact = Math.max(0, f.store.compactRevision);
  };

  try {
    openStream();
    openStream();
    for (let step = 0; step < steps; step++) {
      where = `seed ${seed} step ${step}`;
      const open = streams.filter((x) => !x.closed);
      const x = r();
      if (x < 0.35) await applyWrites(true);
      else if (x < 0.42) await applyWrites(false);
      else if (x < 0.47) f.notifyPending();
      else if (x < 0.6 && open.length > 0) create(pick(open));
      else if (x < 0.64 && open.length > 0) {
        const rec = pick(open);
        const ids = [...rec.used];
        if (ids.length > 0 && r() < 0.9) {
          const id = pick(ids);
          if (!rec.s.cancel(id)) fail(`cancel of ${id}, which the stream holds, was refused`);
          rec.used.delete(id);
        } else if (rec.s.cancel(5000)) fail('cancel of an unknown ID answered'); // etcd: no answer
      } else if (x < 0.67 && open.length > 0) pick(open).s.requestProgress();
      else if (x < 0.7) f.timers.advance(1000);
      else if (x < 0.71 && open.length > 0) {
        const rec = pick(open);
        rec.s.close();
        rec.closed = true;
        for (const inst of rec.current.values()) inst.end = 'closed';
        if (r() < 0.8) openStream();
      } else if (x < 0.715) {
        // A snapshot restore: the hub skips revisions it was never told about.
        await f.applyQuietly(...Array.from({ length: 1 + Math.floor(r() * 3) }, () => gen.write()));
        model.rev = f.store.currentRevision;
        model.compact = Math.max(0, f.store.compactRevision);
        f.hub.restored(f.store.currentRevision);
        coverage.restores++;
        f.dropPending();
      } else {
        f.timers.step();
      }
      if (f.hub.stats().unsynced > 0) coverage.laggingSteps++;
      for (const rec of streams) {
        if (rec.closed) continue;
        // W11: bounded, with slack for control responses and one events response past the bound.
        if (rec.s.buffered.bytes > rec.max + 16_384) fail(`W11: ${rec.s.buffered.bytes} bytes buffered, bound ${rec.max}`);
        if (rec.readRate > 0 && r() < 0.5) read(rec, rec.readRate);
      }
    }
    // Settle: everything notified, every consumer reads everything until catch-up is done.
    where = `seed ${seed} settle`;
    f.notifyPending();
    for (let i = 0; i < 10_000; i++) {
      for (const rec of streams) if (!rec.closed) read(rec, Number.MAX_SAFE_INTEGER);
      f.timers.run();
      const busy = f.hub.stats().unsynced > 0 || streams.some((rec) => !rec.closed && rec.s.buffered.messages > 0);
      if (!busy) break;
      if (i === 9_999) fail('catch-up never finished');
    }
    check(f, streams, fail);
  } finally {
    await f.close();
  }
}

function check(f: Fixture, streams: StreamRec[], fail: (m: string) => never): void {
  const final = f.hub.revision;
  const compactions = new Set(f.compactions);
  // The key's live value before each event (for is-create), from the replay itself.
  const before = new Map<ChangeEvent, KeyValue | undefined>();
  const live = new Map<string, KeyValue>();
  for (const e of f.log) {
    before.set(e, live.get(lat(e.kv.key)));
    if (e.type === 'put') live.set(lat(e.kv.key), e.kv);
    else live.delete(lat(e.kv.key));
  }
  for (const [si, rec] of streams.entries()) {
    for (const inst of rec.all) {
      const sp = inst.spec;
      const name = `stream ${si} watcher ${sp.id} ${JSON.stringify(sp)} (${inst.end})`;
      const expected = f.log.filter(
        (e) => e.kv.modRevision >= inst.effStart && e.kv.modRevision <= final && covers(sp, e.kv.key) && !(e.type === 'put' ? sp.noPut : sp.noDelete),
      );
      const got = inst.events;
      if (got.length > expected.length) fail(`${name}: ${got.length} events, replay has ${expected.length}`);
      for (let i = 0; i < got.length; i++) {
        const g = got[i]!;
        const e = expected[i]!;
        const want = shape(e.type === 'put' ? 0 : 1, e.kv);
        if (shape(g.type, g.kv) !== want) fail(`${name}: W4 event ${i} is ${shape(g.type, g.kv)}, replay ${want}`);
        // W8: prev_kv as the replay has it (a catch-up at exactly the compaction revision may lack it).
        if (!sp.prevKv) {
          if (g.prevKv !== undefined) fail(`${name}: prev_kv sent without being asked`);
        } else if (norm(g.prevKv) !== norm(e.prevKv) && !(g.prevKv === undefined && compactions.has(e.kv.modRevision))) {
          fail(`${name}: W8 prev_kv of event ${i} is ${norm(g.prevKv)}, replay ${norm(e.prevKv)}`);
        }
        // W8: is-create exactly when the key was absent before.
        const isCreate = g.type === 0 && g.kv!.createRevision === g.kv!.modRevision;
        if (isCreate !== (g.type === 0 && before.get(e) === undefined)) fail(`${name}: W8 is-create wrong at event ${i}`);
      }
      if (inst.end === 'active' && got.length !== expected.length) {
        fail(`${name}: W4 got ${got.length} events, replay has ${expected.length} (next missing at ${expected[got.length]?.kv.modRevision})`);
      }
      if (inst.end === 'compacted') {
        const last = got.length === 0 ? 0 : got[got.length - 1]!.kv!.modRevision;
        const next = Math.max(inst.effStart, last + 1);
        if (!compactions.has(inst.compactRevision)) fail(`${name}: canceled at compact revision ${inst.compactRevision}, which no compaction made`);
        if (!(next < inst.compactRevision)) fail(`${name}: canceled at ${inst.compactRevision} but needed only ${next} and later`);
      }
      // W3: a response boundary never falls inside a revision, unless inside a fragmented response.
      let prevLast = 0;
      let inFragment = false;
      for (const res of inst.responses) {
        const first = res.events[0]!.kv!.modRevision;
        if (!inFragment && first === prevLast) fail(`${name}: W3 revision ${first} split across responses`);
        if (res.fragment && !sp.fragment) fail(`${name}: a fragment sent to a watcher that did not ask`);
        inFragment = res.fragment;
        prevLast = res.events[res.events.length - 1]!.kv!.modRevision;
      }
      if (inFragment && inst.end === 'active') fail(`${name}: the last response is a fragment`);
    }
    if (!rec.closed) {
      if (rec.refusals.length > 0) fail(`stream ${si}: ${rec.refusals.length} refusals never answered`);
      if ([...rec.pending.values()].some((l) => l.length > 0)) fail(`stream ${si}: a create never answered`);
      const waitsForFuture = [...rec.current.values()].some((i) => i.effStart > final + 1);
      if (rec.s.progressPending && !waitsForFuture) fail(`stream ${si}: W6 a progress request never answered`);
    }
  }
}

test('random histories: every stream equals the replay of the committed log (W1-W8, W11)', async () => {
  const only = process.env['WATCH_SEED'];
  const steps = Number(process.env['WATCH_STEPS'] ?? 200);
  // WATCH_SEEDS=<n> runs seeds 1..n (a longer soak than the default 50).
  const count = Number(process.env['WATCH_SEEDS'] ?? 50);
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: count }, (_, i) => i + 1);
  for (const seed of seeds) await runSeed(seed, steps);
  if (process.env['WATCH_VERBOSE'] !== undefined) console.log(coverage);
  if (only === undefined) {
    for (const [k, v] of Object.entries(coverage)) assert.ok(v >= 5, `the seeds no longer exercise ${k} (${v})`);
  }
});
