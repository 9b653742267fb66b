import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, checkWatcher, DELETE, PUT, type AttemptedWrite, type KvState, type ObservedEvent, type Observation, type WatcherRecord, type WatcherSpec } from './checker.js';

// The watch checker catches each kind of violation it claims to (hand-made observations against
// a five-revision history), and passes the correct ones.

const kv = (key: string, value: string, createRevision: number, modRevision: number, version: number): KvState => ({ key, value, createRevision, modRevision, version });
const put = (key: string, value: string, c: number, m: number, v: number, prev: KvState | null = null): ObservedEvent => ({ type: PUT, key, value, createRevision: c, modRevision: m, version: v, prevKv: prev });
const del = (key: string, m: number, prev: KvState | null): ObservedEvent => ({ type: DELETE, key, value: '', createRevision: 0, modRevision: m, version: 0, prevKv: prev });

// r2: a=1; r3: txn a=2, b=1; r4: delete a; r5: b=2; r6: a=3
const HISTORY: ObservedEvent[] = [
  put('a', '1', 2, 2, 1),
  put('a', '2', 2, 3, 2, kv('a', '1', 2, 2, 1)),
  put('b', '1', 3, 3, 1),
  del('a', 4, kv('a', '2', 2, 3, 2)),
  put('b', '2', 3, 5, 2, kv('b', '1', 3, 3, 1)),
  put('a', '3', 6, 6, 1),
];
const WRITES: AttemptedWrite[] = [
  { id: 0, outcome: 'ok', revision: 2, puts: [{ key: 'a', value: '1' }], deletes: [], deleted: 0 },
  { id: 1, outcome: 'ok', revision: 3, puts: [{ key: 'a', value: '2' }, { key: 'b', value: '1' }], deletes: [], deleted: 0 },
  { id: 2, outcome: 'ok', revision: 4, puts: [], deletes: [{ key: 'a', rangeEnd: '' }], deleted: 1 },
  { id: 3, outcome: 'unknown', revision: 0, puts: [{ key: 'b', value: '2' }], deletes: [], deleted: 0 },
  { id: 4, outcome: 'ok', revision: 6, puts: [{ key: 'a', value: '3' }], deletes: [], deleted: 0 },
  { id: 5, outcome: 'unknown', revision: 0, puts: [{ key: 'c', value: 'never' }], deletes: [], deleted: 0 },
];
const FINAL = { revision: 6, kvs: [kv('a', '3', 6, 6, 1), kv('b', '2', 3, 5, 2)] };
const replay = checkHistory(HISTORY, WRITES, FINAL).replay;

const ALL: WatcherSpec = { key: 'a', rangeEnd: 'z', startRevision: 3, prevKv: false, noPut: false, noDelete: false };
const noPrev = (e: ObservedEvent): ObservedEvent => ({ ...e, prevKv: null });
const ev = (...es: ObservedEvent[]): Observation => ({ kind: 'events', events: es.map(noPrev) });
const rec = (observations: Observation[], spec: WatcherSpec = ALL, complete = true): WatcherRecord => ({ id: 'w', kind: 'raw', member: 'm0', spec, observations, complete });
const check = (r: WatcherRecord, compactions: number[] = []): string[] => checkWatcher(r, replay, { compactions });
const H = HISTORY;
const GOOD: Observation[] = [{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), ev(H[3]!), { kind: 'progress', revision: 4 }, ev(H[4]!), ev(H[5]!), { kind: 'progress', revision: 6 }];

test('history: a consistent history passes and yields the replay', () => {
  const r = checkHistory(HISTORY, WRITES, FINAL);
  assert.deepEqual(r.problems, []);
  assert.equal(r.replay.events.length, 6);
  assert.deepEqual(r.replay.events[3]!.prev, kv('a', '2', 2, 3, 2));
});

test('history: a missing revision, an unwritten value, a lost acknowledged write and a wrong final state are caught', () => {
  assert.match(checkHistory([H[0]!, H[1]!, H[2]!, H[4]!, H[5]!], WRITES, FINAL).problems.join('\n'), /revisions 4\.\.4 missing[\s\S]*acknowledged write #2/);
  assert.match(checkHistory([...H.slice(0, 5), put('a', 'x', 6, 6, 1)], WRITES, { ...FINAL, kvs: [kv('a', 'x', 6, 6, 1), FINAL.kvs[1]!] }).problems.join('\n'), /no client wrote this/);
  assert.match(checkHistory(HISTORY, WRITES, { revision: 6, kvs: [FINAL.kvs[1]!] }).problems.join('\n'), /final state of a/);
  assert.match(checkHistory([H[0]!, put('a', '2', 2, 3, 3, kv('a', '1', 2, 2, 1)), ...H.slice(2)], WRITES, FINAL).problems.join('\n'), /version 3, expected create 2 version 2/);
});

test('a correct watcher passes, including from "now", filtered and prev_kv', () => {
  assert.deepEqual(check(rec(GOOD)), []);
  assert.deepEqual(check(rec([{ kind: 'created', revision: 4 }, ev(H[4]!), ev(H[5]!)], { ...ALL, startRevision: 0 })), []);
  assert.deepEqual(check(rec([{ kind: 'created', revision: 1 }, ev(H[3]!)], { ...ALL, startRevision: 3, noPut: true })), []);
  assert.deepEqual(check(rec([{ kind: 'created', revision: 1 }, { kind: 'events', events: [H[3]!] }], { key: 'a', rangeEnd: '', startRevision: 4, prevKv: true, noPut: false, noDelete: false }, false)), []);
});

test('W1: events out of revision order are caught', () => {
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), ev(H[4]!), ev(H[3]!), ev(H[5]!)])).join('\n'), /W1/);
});

test('W2: an event delivered twice is caught', () => {
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), ev(H[3]!), ev(H[3]!), ev(H[4]!), ev(H[5]!)])).join('\n'), /W2/);
});

test('W3: a txn split across responses is caught', () => {
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!), ev(H[2]!), ev(H[3]!), ev(H[4]!), ev(H[5]!)])).join('\n'), /W3: revision 3 split/);
});

test('W4: a gap, and a complete watcher missing its tail, are caught', () => {
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), ev(H[4]!), ev(H[5]!)])).join('\n'), /W4: event #2/);
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), ev(H[3]!)])).join('\n'), /W4: missing 2 events/);
  assert.deepEqual(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), ev(H[3]!), { kind: 'end', reason: 'killed' }], ALL, false)), []);
});

test('W5: a wrong first event is caught', () => {
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[3]!), ev(H[4]!), ev(H[5]!)])).join('\n'), /W5: event #0/);
  assert.match(check(rec([{ kind: 'created', revision: 6 }, { kind: 'canceled', reason: 'boom' }])).join('\n'), /W5: canceled by the server/);
});

test('W6: events at or below a progress revision, a progress below a sent event, and a progress with events still missing are caught', () => {
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), { kind: 'progress', revision: 4 }, ev(H[3]!), ev(H[4]!), ev(H[5]!)])).join('\n'), /W6: DELETE a@4 after a progress/);
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), ev(H[3]!), { kind: 'progress', revision: 3 }, ev(H[4]!), ev(H[5]!)])).join('\n'), /W6: progress at 3 below/);
  assert.match(check(rec([{ kind: 'created', revision: 6 }, ev(H[1]!, H[2]!), { kind: 'progress', revision: 5 }])).join('\n'), /W6: progress at 5 with 2 matching events/);
});

test('W7: a compacted cancel must name a compaction above the needed revision', () => {
  assert.deepEqual(check(rec([{ kind: 'created', revision: 6 }, { kind: 'compacted', compactRevision: 4 }]), [4]), []);
  assert.match(check(rec([{ kind: 'created', revision: 6 }, { kind: 'compacted', compactRevision: 3 }]), [3]).join('\n'), /W7: canceled as compacted at 3/);
  assert.match(check(rec([{ kind: 'created', revision: 6 }, { kind: 'compacted', compactRevision: 5 }]), [4]).join('\n'), /W7: compact revision 5 was never requested/);
});

test('W8 (folded in): a wrong prev_kv or one sent unasked is caught; a missing one only before a compaction', () => {
  const spec = { key: 'a', rangeEnd: '', startRevision: 3, prevKv: true, noPut: false, noDelete: false };
  assert.match(check(rec([{ kind: 'created', revision: 1 }, { kind: 'events', events: [{ ...H[1]!, prevKv: kv('a', '0', 2, 2, 1) }] }], spec, false)).join('\n'), /prev_kv/);
  assert.match(check(rec([{ kind: 'created', revision: 1 }, { kind: 'events', events: [H[1]!] }], { ...spec, prevKv: false }, false)).join('\n'), /did not ask/);
  assert.match(check(rec([{ kind: 'created', revision: 1 }, ev(H[1]!)], spec, false)).join('\n'), /prev_kv missing/);
  assert.deepEqual(check(rec([{ kind: 'created', revision: 1 }, ev(H[1]!)], spec, false), [3]), []);
});
