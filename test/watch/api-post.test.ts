import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, compact, currentRevision, del, eventsOf, PostWatch, put, rpc, startWatchMember, txn, until, type Json, type WatchMember } from './api-client.js';

// POST /v3/watch through a real socket against a real member (API.md section 6, GUARANTEES W1-W8):
// the body stays open and requests go in one by one while responses are read.

let m: WatchMember;
const open: PostWatch[] = [];
const watch = (path?: string): PostWatch => {
  const w = new PostWatch(m.url, path);
  open.push(w);
  return w;
};
const create = (key: string, o: Json = {}): Json => ({ create_request: { key: b64(key), ...o } });

before(async () => {
  m = await startWatchMember({ watchProgressNotifyIntervalMs: 300 });
});
after(async () => {
  for (const w of open) w.close();
  await m.dispose();
});

describe('the stream', () => {
  test('answers at the first request object, before the body ends, with etcd headers', async () => {
    const w = watch();
    w.send(create('s/a'));
    const res = await w.response;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const created = await w.next();
    assert.equal(created.created, true);
    assert.equal(created.watch_id, undefined, 'watch_id 0 is omitted');
    assert.deepEqual(Object.keys(created.header), ['cluster_id', 'member_id', 'revision', 'raft_term']);
    assert.equal(created.header.member_id, m.server.memberId.toString());
    assert.equal(created.header.cluster_id, m.server.clusterId.toString());
    // The line is exactly etcd's: {"result":{…}} and nothing else.
    assert.match(w.raw[0]!, /^\{"result":\{"header":\{"cluster_id":"\d+","member_id":"\d+","revision":"\d+","raft_term":"\d+"\},"created":true\}\}$/);
    const rev = await put(m.url, 's/a', 'v1');
    const ev = await w.next();
    assert.deepEqual(eventsOf(ev), [{ type: 'PUT', key: 's/a', value: 'v1', mod: rev }]);
    assert.equal(ev.header.revision, String(rev));
    assert.deepEqual(ev.events[0].kv, { key: b64('s/a'), create_revision: String(rev), mod_revision: String(rev), version: '1', value: b64('v1') });
  });

  test('the end of the request body does not end the response', async () => {
    const w = watch();
    w.send(create('eof/k')).endBody();
    assert.equal((await w.next()).created, true);
    const rev = await put(m.url, 'eof/k', 'x');
    assert.deepEqual(eventsOf(await w.next()), [{ type: 'PUT', key: 'eof/k', value: 'x', mod: rev }]);
    assert.equal(w.lines.ended, false);
  });

  test('/v3beta/watch is the same stream', async () => {
    const w = watch('/v3beta/watch');
    w.send(create('beta/k'));
    assert.equal((await w.next()).created, true);
    const rev = await put(m.url, 'beta/k', 'b');
    assert.equal((await w.next()).events[0].kv.mod_revision, String(rev));
  });

  test('several request objects in one write, on one line, or split across writes all count', async () => {
    const w = watch();
    w.send(JSON.stringify(create('multi/a')) + JSON.stringify(create('multi/b')) + '\n');
    const half = JSON.stringify(create('multi/c'));
    w.send(half.slice(0, 10));
    assert.equal((await w.next()).watch_id, undefined);
    assert.equal((await w.next()).watch_id, '1');
    w.send(half.slice(10) + '\n');
    assert.equal((await w.next()).watch_id, '2');
    // A pretty-printed object spanning lines.
    w.send(JSON.stringify(create('multi/d'), null, 2) + '\n');
    assert.equal((await w.next()).watch_id, '3');
  });

  test('OPTIONS answers 200, other methods 405, and GET without event-stream 405', async () => {
    assert.equal((await fetch(m.url + '/v3/watch', { method: 'OPTIONS' })).status, 200);
    const put405 = await fetch(m.url + '/v3/watch', { method: 'PUT' });
    assert.equal(put405.status, 405);
    assert.equal(await put405.text(), 'Method Not Allowed');
    assert.equal((await fetch(m.url + '/v3/watch')).status, 405);
  });
});

describe('create_request fields', () => {
  test('auto IDs start at 0 and skip IDs in use (0, 7, 1); a duplicate ID is refused as etcd', async () => {
    const w = watch();
    w.send(create('ids/a')).send(create('ids/a', { watch_id: 7 })).send(create('ids/a'));
    assert.deepEqual([(await w.next()).watch_id, (await w.next()).watch_id, (await w.next()).watch_id], [undefined, '7', '1']);
    w.send(create('ids/a', { watch_id: 7 }));
    const dup = await w.next();
    assert.equal(dup.watch_id, '-1');
    assert.equal(dup.created, true);
    assert.equal(dup.canceled, true);
    assert.equal(dup.cancel_reason, 'mvcc: duplicate watch ID provided on the WatchStream');
    // All three active watchers get the event, each under its ID.
    const rev = await put(m.url, 'ids/a', '1');
    const got = [await w.next(), await w.next(), await w.next()].map((r) => `${r.watch_id ?? '0'}@${r.events[0].kv.mod_revision}`).sort();
    assert.deepEqual(got, [`0@${rev}`, `1@${rev}`, `7@${rev}`]);
  });

  test('cancel_request of an active watch answers canceled; of an unknown ID nothing at all', async () => {
    const w = watch();
    w.send(create('cancel/a', { watch_id: 3 }));
    await w.next();
    w.send({ cancel_request: { watch_id: 3 } });
    const c = await w.next();
    assert.equal(c.watch_id, '3');
    assert.equal(c.canceled, true);
    assert.equal(c.created, undefined);
    w.send({ cancel_request: { watch_id: 99 } });
    w.send({ progress_request: {} });
    // The next line answers the progress request: the unknown cancel produced nothing.
    const p = await w.next();
    assert.equal(p.watch_id, '-1');
    assert.equal(p.canceled, undefined);
    await put(m.url, 'cancel/a', 'after');
    assert.deepEqual(await w.lines.quiet(200), [], 'a canceled watch gets no events');
  });

  test('key alone is one key; range_end is a range; prefix end; "\\0" means every key from key on', async () => {
    const w = watch();
    w.send(create('rng/b')); // 0: rng/b only
    w.send(create('rng/b', { range_end: b64('rng/d'), watch_id: 1 })); // [rng/b, rng/d)
    w.send(create('rng/', { range_end: b64('rng0'), watch_id: 2 })); // prefix rng/
    w.send(create('rng/c', { range_end: b64('\0'), watch_id: 3 })); // >= rng/c
    for (let i = 0; i < 4; i++) assert.equal((await w.next()).created, true);
    const seen = new Map<string, string[]>();
    const revs: Record<string, number> = {};
    for (const k of ['rng/a', 'rng/b', 'rng/c', 'rng/d', 'rnh']) revs[k] = await put(m.url, k, 'v');
    const expected: Record<string, string[]> = {
      '0': ['rng/b'],
      '1': ['rng/b', 'rng/c'],
      '2': ['rng/a', 'rng/b', 'rng/c', 'rng/d'],
      '3': ['rng/c', 'rng/d', 'rnh'],
    };
    const total = Object.values(expected).reduce((n, l) => n + l.length, 0);
    for (let i = 0; i < total; i++) {
      const r = await w.next();
      const id = r.watch_id ?? '0';
      seen.set(id, [...(seen.get(id) ?? []), ...eventsOf(r).map((e) => e.key)]);
    }
    for (const [id, keys] of Object.entries(expected)) assert.deepEqual(seen.get(id), keys, `watch ${id}`);
    assert.deepEqual(await w.lines.quiet(100), []);
  });

  test('range_end <= key is refused with etcd\'s reason; an empty key means "\\0"', async () => {
    const w = watch();
    w.send(create('zz', { range_end: b64('aa') }));
    const r = await w.next();
    assert.deepEqual([r.watch_id, r.created, r.canceled, r.cancel_reason], ['-1', true, true, 'mvcc: watcher range is empty']);
    // key "" with range_end "\0": every key.
    w.send({ create_request: { range_end: b64('\0') } });
    assert.equal((await w.next()).created, true);
    const rev = await put(m.url, 'any/key', 'v');
    assert.equal((await w.next()).events[0].kv.mod_revision, String(rev));
  });

  test('W7: start_revision 0 is current + 1, a past one replays history, a future one waits', async () => {
    const r1 = await put(m.url, 'sr/k', '1');
    const r2 = await put(m.url, 'sr/k', '2');
    const w = watch();
    w.send(create('sr/k', { start_revision: 0 })); // 0
    w.send(create('sr/k', { start_revision: r1 })); // 1: replays r1, r2
    const future = r2 + 3;
    w.send(create('sr/k', { start_revision: future })); // 2
    const lines: Json[] = [];
    for (let i = 0; i < 4; i++) lines.push(await w.next());
    const created = lines.filter((l) => l.created === true).map((l) => l.watch_id ?? '0');
    assert.deepEqual(created, ['0', '1', '2']);
    const replay = lines.find((l) => l.events !== undefined)!;
    assert.equal(replay.watch_id, '1');
    assert.deepEqual(eventsOf(replay).map((e) => e.mod), [r1, r2]);
    // created precedes the watch's events.
    assert.ok(lines.findIndex((l) => l.watch_id === '1' && l.created) < lines.indexOf(replay));

    const r3 = await put(m.url, 'sr/k', '3');
    const r4 = await put(m.url, 'sr/k', '4');
    const r5 = await put(m.url, 'sr/k', '5');
    assert.equal(r5, future);
    const got: string[] = [];
    for (let i = 0; i < 7; i++) {
      const l = await w.next();
      for (const e of eventsOf(l)) got.push(`${l.watch_id ?? '0'}:${e.mod}`);
    }
    assert.deepEqual(got.filter((g) => g.startsWith('0:')), [`0:${r3}`, `0:${r4}`, `0:${r5}`]);
    assert.deepEqual(got.filter((g) => g.startsWith('1:')), [`1:${r3}`, `1:${r4}`, `1:${r5}`]);
    assert.deepEqual(got.filter((g) => g.startsWith('2:')), [`2:${r5}`], 'the future watch never sees older events');
  });

  test('W7: start_revision 1 gives the full history of the key', async () => {
    const key = 'full/k';
    const revs = [await put(m.url, key, 'a'), await put(m.url, key, 'b'), await del(m.url, key)];
    const w = watch();
    w.send(create(key, { start_revision: 1 }));
    await w.next();
    const r = await w.next();
    assert.deepEqual(
      eventsOf(r).map((e) => `${e.type}@${e.mod}`),
      [`PUT@${revs[0]}`, `PUT@${revs[1]}`, `DELETE@${revs[2]}`],
    );
    // A DELETE event's kv holds only key and mod_revision.
    assert.deepEqual(r.events[2].kv, { key: b64(key), mod_revision: String(revs[2]) });
    assert.equal(r.events[2].type, 'DELETE');
  });

  test('W7: a compacted start is canceled with the compact revision (header without revision); exactly the compact revision still delivers its tombstone', async () => {
    const key = 'cmp/k';
    const a = await put(m.url, key, 'a');
    const d = await del(m.url, key);
    await put(m.url, 'cmp/other', 'x');
    await compact(m.url, d);
    const w = watch();
    w.send(create(key, { start_revision: a })); // below the compaction
    w.send(create(key, { start_revision: d, watch_id: 5 })); // exactly at it
    const lines = [await w.next(), await w.next(), await w.next(), await w.next()];
    const canceled = lines.find((l) => l.canceled === true && l.watch_id === undefined)!;
    assert.equal(canceled.compact_revision, String(d));
    assert.equal(canceled.header.revision, undefined, 'etcd sends the compacted cancel without a header revision');
    assert.ok(canceled.header.member_id !== undefined);
    const tomb = lines.find((l) => l.watch_id === '5' && l.events !== undefined)!;
    assert.deepEqual(eventsOf(tomb), [{ type: 'DELETE', key, value: '', mod: d }]);
    // The stream stays open after a cancel: the other watch still works.
    const r = await put(m.url, key, 'again');
    assert.equal((await w.next()).events[0].kv.mod_revision, String(r));
  });

  test('a negative start_revision is refused with the compacted text', async () => {
    const w = watch();
    w.send(create('neg/k', { start_revision: -1 }));
    const r = await w.next();
    assert.deepEqual([r.watch_id, r.created, r.canceled, r.cancel_reason], ['-1', true, true, 'etcdserver: mvcc: required revision has been compacted']);
  });

  test('W8: NOPUT and NODELETE filters, by name and by number', async () => {
    const w = watch();
    w.send(create('flt/k', { filters: ['NOPUT'] })); // 0: deletes only
    w.send(create('flt/k', { filters: [1], watch_id: 1 })); // 1: NODELETE -> puts only
    w.send(create('flt/k', { filters: [0, 'NODELETE'], watch_id: 2 })); // 2: nothing
    for (let i = 0; i < 3; i++) await w.next();
    const p = await put(m.url, 'flt/k', 'v');
    const d = await del(m.url, 'flt/k');
    const a = await w.next();
    const b = await w.next();
    const byId = new Map([a, b].map((l) => [l.watch_id ?? '0', eventsOf(l)]));
    assert.deepEqual(byId.get('0'), [{ type: 'DELETE', key: 'flt/k', value: '', mod: d }]);
    assert.deepEqual(byId.get('1'), [{ type: 'PUT', key: 'flt/k', value: 'v', mod: p }]);
    assert.deepEqual(await w.lines.quiet(150), [], 'the watch filtering both gets nothing');
  });

  test('W8: prev_kv carries the value before the revision; without it no prev_kv; IsCreate = version 1', async () => {
    const w = watch();
    w.send(create('pkv/k', { prev_kv: true }));
    w.send(create('pkv/k', { watch_id: 1 }));
    await w.next();
    await w.next();
    const r1 = await put(m.url, 'pkv/k', 'one');
    const r2 = await put(m.url, 'pkv/k', 'two');
    const d = await del(m.url, 'pkv/k');
    const lines: Json[] = [];
    for (let i = 0; i < 6; i++) lines.push(await w.next());
    const withPrev = lines.filter((l) => l.watch_id === undefined).map((l) => l.events[0]);
    const without = lines.filter((l) => l.watch_id === '1').map((l) => l.events[0]);
    assert.equal(withPrev[0].prev_kv, undefined, 'a create has no previous value');
    assert.equal(withPrev[0].kv.version, '1');
    assert.deepEqual(withPrev[1].prev_kv, { key: b64('pkv/k'), create_revision: String(r1), mod_revision: String(r1), version: '1', value: b64('one') });
    assert.deepEqual(withPrev[2].prev_kv, { key: b64('pkv/k'), create_revision: String(r1), mod_revision: String(r2), version: '2', value: b64('two') });
    assert.equal(withPrev[2].kv.mod_revision, String(d));
    for (const e of without) assert.equal(e.prev_kv, undefined);
  });

  test('progress_notify: empty responses at the progress interval, only for watches that asked', async () => {
    const w = watch();
    w.send(create('pn/k', { progress_notify: true, watch_id: 4 }));
    w.send(create('pn/k', { watch_id: 5 }));
    await w.next();
    await w.next();
    const rev = await currentRevision(m.url);
    const p = await w.next(3000, 'a progress notification');
    assert.equal(p.watch_id, '4');
    assert.equal(p.events, undefined);
    assert.equal(p.created, undefined);
    assert.ok(Number(p.header.revision) >= rev);
    const more = await w.next(3000, 'a second progress notification');
    assert.equal(more.watch_id, '4', 'the watch without progress_notify gets none');
  });

  test('W6: progress_request is answered at once with watch_id -1, also on a fresh watch; after it no event at or below its revision', async () => {
    const w = watch();
    w.send({ progress_request: {} });
    const first = await w.next();
    assert.equal(first.watch_id, '-1');
    assert.ok(Number(first.header.revision) >= 1);
    // From a past revision (history catch-up first), so the answer also waits for the watcher to sync.
    w.send(create('bm/', { range_end: b64('bm0'), start_revision: await currentRevision(m.url) }));
    await w.next();
    const revs: number[] = [];
    for (let i = 0; i < 5; i++) revs.push(await put(m.url, `bm/${i}`, 'v'));
    w.send({ progress_request: {} });
    const seen: number[] = [];
    let progressAt = -1;
    for (;;) {
      const l = await w.next();
      if (l.watch_id === '-1') {
        progressAt = Number(l.header.revision);
        break;
      }
      seen.push(...eventsOf(l).map((e) => e.mod));
    }
    assert.ok(progressAt >= Math.max(...seen), 'the progress revision covers every event sent');
    assert.deepEqual(seen.slice(-5), revs, 'all five writes arrived before the progress answer');
    const later = await put(m.url, 'bm/x', 'v');
    const next = await w.next();
    assert.ok(eventsOf(next).every((e) => e.mod > progressAt));
    assert.equal(eventsOf(next)[0]!.mod, later);
  });

  test('fragment: a revision larger than --max-request-bytes is split into fragments only when asked (prev_kv)', async () => {
    const small = await startWatchMember({ maxRequestBytes: 4096 });
    try {
      const w = new PostWatch(small.url);
      open.push(w);
      w.send(create('frag/', { range_end: b64('frag0'), fragment: true, prev_kv: true, filters: ['NOPUT'] }));
      w.send(create('frag/', { range_end: b64('frag0'), watch_id: 1, prev_kv: true, filters: ['NOPUT'] }));
      await w.next();
      await w.next();
      // The request is small, its revision's events are not: one delete of ten 600-byte values.
      for (let i = 0; i < 10; i++) await put(small.url, `frag/${i}`, 'x'.repeat(600));
      const rev = await del(small.url, 'frag/', 'frag0');
      const frags: Json[] = [];
      let whole: Json | undefined;
      while (whole === undefined || frags.length === 0 || frags[frags.length - 1]!.fragment === true) {
        const l = await w.next();
        if (l.watch_id === '1') whole = l;
        else frags.push(l);
      }
      assert.ok(frags.length > 1, 'split into several responses');
      assert.ok(frags.slice(0, -1).every((f) => f.fragment === true));
      assert.equal(frags[frags.length - 1]!.fragment, undefined);
      const keys = frags.flatMap((f) => eventsOf(f).map((e) => e.key));
      assert.deepEqual(keys, Array.from({ length: 10 }, (_, i) => `frag/${i}`));
      assert.ok(frags.every((f) => eventsOf(f).every((e) => e.mod === rev && e.type === 'DELETE')));
      assert.ok(frags.every((f) => f.events.every((e: Json) => e.prev_kv.value.length === 800)));
      assert.equal(eventsOf(whole).length, 10, 'without fragment the revision is one response');
    } finally {
      await small.dispose();
    }
  });
});

describe('guarantees', () => {
  test('W3: every event of one txn revision in one message, in the txn\'s order', async () => {
    await put(m.url, 'w3/c', 'old');
    const w = watch();
    w.send(create('w3/', { range_end: b64('w30'), prev_kv: true }));
    await w.next();
    const rev = await txn(m.url, [['w3/b', '1'], ['w3/a', '2']], ['w3/c']);
    const r = await w.next();
    assert.deepEqual(eventsOf(r), [
      { type: 'PUT', key: 'w3/b', value: '1', mod: rev },
      { type: 'PUT', key: 'w3/a', value: '2', mod: rev },
      { type: 'DELETE', key: 'w3/c', value: '', mod: rev },
    ]);
    assert.equal(unb64Value(r.events[2].prev_kv), 'old');
  });

  test('W1 W2 W4 W5: concurrent writers, several watchers on one stream: ordered, unique, gap-free, and a resume continues exactly', async () => {
    const keys = ['w4/a', 'w4/b', 'w4/c', 'w4/d'];
    const start = (await currentRevision(m.url)) + 1;
    const w = watch();
    w.send(create('w4/', { range_end: b64('w40'), prev_kv: true })); // 0: all
    w.send(create('w4/a', { watch_id: 1 })); // 1: one key
    w.send(create('w4/b', { range_end: b64('w4/d'), watch_id: 2, filters: ['NODELETE'] })); // 2: b, c puts
    for (let i = 0; i < 3; i++) await w.next();
    // The replay: what each write did, from its response.
    const log: Array<{ type: string; key: string; value: string; mod: number }> = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (c) => {
        for (let i = 0; i < 15; i++) {
          const key = keys[(c + i) % keys.length]!;
          if (i % 5 === 4) {
            const r = await rpc(m.url, '/v3/kv/deleterange', { key: b64(key) });
            if (Number(r['deleted'] ?? 0) > 0) log.push({ type: 'DELETE', key, value: '', mod: Number(r['header']['revision']) });
          } else {
            const v = `${c}.${i}`;
            log.push({ type: 'PUT', key, value: v, mod: await put(m.url, key, v) });
          }
        }
      }),
    );
    log.sort((a, b) => a.mod - b.mod);
    const want = (id: string): typeof log =>
      log.filter((e) => (id === '0' ? true : id === '1' ? e.key === 'w4/a' : (e.key === 'w4/b' || e.key === 'w4/c') && e.type === 'PUT'));
    const got = new Map<string, typeof log>([['0', []], ['1', []], ['2', []]]);
    const total = (): number => [...got.values()].reduce((n, l) => n + l.length, 0);
    const expected = want('0').length + want('1').length + want('2').length;
    let lastRevInMessage = 0;
    while (total() < expected) {
      const l = await w.next();
      const evs = eventsOf(l);
      // W3 on the live path: one revision per message.
      assert.equal(new Set(evs.map((e) => e.mod)).size, 1);
      lastRevInMessage = Math.max(lastRevInMessage, evs[0]!.mod);
      got.get(l.watch_id ?? '0')!.push(...evs);
    }
    for (const id of ['0', '1', '2']) {
      const list = got.get(id)!;
      const revs = list.map((e) => e.mod);
      assert.deepEqual(revs, [...revs].sort((a, b) => a - b), `W1 watch ${id}`);
      assert.equal(new Set(list.map((e) => `${e.mod}/${e.key}`)).size, list.length, `W2 watch ${id}`);
      assert.deepEqual(list, want(id), `W4 watch ${id}`);
    }
    assert.ok(log[0]!.mod >= start);

    // W5: a new stream resuming from a revision in the middle gets exactly the rest.
    const mid = log[Math.floor(log.length / 2)]!.mod;
    const resumed = watch();
    resumed.send(create('w4/', { range_end: b64('w40'), start_revision: mid }));
    await resumed.next();
    const rest: typeof log = [];
    while (rest.length < log.filter((e) => e.mod >= mid).length) rest.push(...eventsOf(await resumed.next()));
    assert.deepEqual(rest, log.filter((e) => e.mod >= mid));
  });
});

describe('malformed request objects (as etcd 3.4 answers them)', () => {
  test('a bad first object is an HTTP error: 500, code 2, etcd\'s message; no stream', async () => {
    const cases: Array<[string, string]> = [
      ['{"create_request":{"key":"!!!"}}\n', 'illegal base64 data at input byte 0'],
      ['{garbage\n', "invalid character 'g' looking for beginning of object key string"],
      ['[1,2]\n', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage'],
      ['5\n', 'json: cannot unmarshal number into Go value of type map[string]json.RawMessage'],
      ['{"create_request":{"key":"YQ==","filters":["FOO"]}}\n', 'unknown value "FOO" for enum etcdserverpb.WatchCreateRequest_FilterType'],
      ['{"create_request":{"key":"YQ==","start_revision":1.5}}\n', 'json: cannot unmarshal number 1.5 into Go value of type int64'],
    ];
    for (const [body, message] of cases) {
      const w = watch();
      // The body stays open: the answer must not wait for its end.
      w.send(body);
      const res = await w.response;
      assert.equal(res.statusCode, 500, body);
      const json = await w.lines.next(2000, 'the error body');
      assert.deepEqual(json, { error: message, message, code: 2 }, body);
    }
  });

  test('a bad later object stops the reading of requests; the stream and its watches go on', async () => {
    const w = watch();
    w.send(create('bad/a'));
    await w.next();
    w.send('{"create_request":{"key":"!!"}}\n');
    w.send(create('bad/b'));
    const ra = await put(m.url, 'bad/a', '1');
    await put(m.url, 'bad/b', '1');
    const l = await w.next();
    assert.deepEqual(eventsOf(l).map((e) => `${e.key}@${e.mod}`), [`bad/a@${ra}`]);
    assert.deepEqual(await w.lines.quiet(150), [], 'the request after the bad one was ignored');
  });

  test('an object beyond the request size limit is refused without buffering it (429, code 8)', async () => {
    const small = await startWatchMember({ maxRequestBytes: 1024 });
    try {
      const w = new PostWatch(small.url);
      open.push(w);
      w.send('{"create_request":{"key":"' + 'A'.repeat(4 * 1024 * 1024) + '"}}\n');
      const res = await w.response;
      assert.equal(res.statusCode, 429);
      const json = await w.lines.next(2000, 'the error body');
      assert.equal(json.code, 8);
      assert.match(json.message, /received message larger than max/);
    } finally {
      await small.dispose();
    }
  });

  test('an empty object is ignored without an answer; two oneof members are a decode error', async () => {
    const w = watch();
    w.send('{}\n');
    w.send(create('empty/k'));
    assert.equal((await w.next()).created, true, 'the first answer is the create, not the {}');
    const w2 = watch();
    w2.send('{"create_request":{"key":"YQ=="},"cancel_request":{"watch_id":0}}\n');
    assert.equal((await w2.response).statusCode, 500);
  });

  test('the member survives all of it and holds no stream for clients that went away', async () => {
    for (const w of open.splice(0)) w.close();
    await until(() => m.server.watchStats().streams === 0, 5000, 'every stream closed');
    assert.deepEqual(m.server.watchStats(), { streams: 0, synced: 0, unsynced: 0, bufferedBytes: 0 });
    assert.ok((await put(m.url, 'alive', 'yes')) > 0);
  });
});

describe('lifecycle', () => {
  test('a stream outlives the listener\'s request deadline, which still times out a stalled unary body', async () => {
    const short = await startWatchMember({ listen: { requestTimeoutMs: 200 } });
    try {
      const w = new PostWatch(short.url);
      open.push(w);
      w.send(create('dl/k'));
      await w.next();
      await new Promise((r) => setTimeout(r, 1200));
      const rev = await put(short.url, 'dl/k', 'late');
      assert.equal((await w.next()).events[0].kv.mod_revision, String(rev));
      // A unary request whose body never completes is still cut off.
      const { request } = await import('node:http');
      const u = new URL(short.url);
      const status = await new Promise<number>((resolve, reject) => {
        const r = request({ host: u.hostname, port: u.port, path: '/v3/kv/put', method: 'POST', headers: { 'Content-Length': '100' } }, (res) => resolve(res.statusCode ?? 0));
        r.on('error', reject);
        r.write('{"key":');
      });
      assert.equal(status, 408);
    } finally {
      await short.dispose();
    }
  });

  test('stopping the member ends its streams, and the listener closes', async () => {
    const s = await startWatchMember();
    const w = new PostWatch(s.url);
    open.push(w);
    w.send(create('stop/k'));
    await w.next();
    await s.dispose();
    await w.lines.next(2000, 'the end').then(
      (l) => assert.fail(`unexpected line ${JSON.stringify(l)}`),
      (e: Error) => assert.match(e.message, /ended/),
    );
  });

  test('a closed client\'s stream and watchers are released', async () => {
    const w = watch();
    w.send(create('gone/k')).send(create('gone/', { range_end: b64('gone0') }));
    await w.next();
    await w.next();
    assert.ok(m.server.watchStats().synced >= 2);
    w.close();
    await until(() => m.server.watchStats().streams === 0, 5000, 'the stream released');
    assert.equal(m.server.watchStats().synced, 0);
  });
});

function unb64Value(kv: Json | undefined): string | undefined {
  return kv === undefined ? undefined : Buffer.from(kv['value'] ?? '', 'base64').toString('latin1');
}
