// WatchStream semantics (API.md section 6), the hub's lifecycle and the shared encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DecodeError,
  decodeWatchRequest,
  decodeWatchResponse,
  encodeWatchRequest,
  encodeWatchResponse,
  encodeWatchResultText,
  encodeWatchResultTextFrom,
  encodeWatchEventListText,
  encodeWatchEventText,
  WatchCancelReason,
  WatchFilterType,
  type WatchResponse,
} from '../../src/wire/index.js';
import { WatchError, WatchHub, type HistorySource, type WatchMessage } from '../../src/watch/index.js';
import { EventTexts } from '../../src/watch/encode.js';
import type { ChangeEvent } from '../../src/mvcc/index.js';
import { brief, briefAll, createReq, drain, enc, FakeTimers, w, withFixture } from './helpers.js';

const texts = (ms: { msg: WatchMessage }[]): string[] => ms.map((m) => m.msg.text);

test('IDs: auto IDs start at 0 and skip IDs in use (create, create id 7, create -> 0, 7, 1)', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    assert.deepEqual([s.create(createReq('a')), s.create(createReq('a', { watchId: 7 })), s.create(createReq('a'))], [0, 7, 1]);
    const t = f.hub.openStream();
    assert.deepEqual([t.create(createReq('a', { watchId: 1 })), t.create(createReq('a')), t.create(createReq('a'))], [1, 0, 2]);
    // A canceled ID is free again for an explicit create; the auto counter does not go back.
    assert.equal(t.cancel(0), true);
    assert.deepEqual([t.create(createReq('a', { watchId: 0 })), t.create(createReq('a', { watchId: 3 }))], [3, -1]);
    assert.equal(drain(t).pop()!.res.cancelReason, WatchCancelReason.DUPLICATE_ID);
  });
});

test('refused creates answer watch_id -1 with created and canceled and etcd\'s reason text', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    s.create(createReq('a', { watchId: 5 }));
    s.create(createReq('a', { watchId: 5 }));
    s.create(createReq('b', { end: 'a' }));
    s.create(createReq('b', { end: 'b' }));
    assert.deepEqual(texts(drain(s)), [
      '{"result":{"header":{"revision":"1"},"watch_id":"5","created":true}}',
      '{"result":{"header":{"revision":"1"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: duplicate watch ID provided on the WatchStream"}}',
      '{"result":{"header":{"revision":"1"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: watcher range is empty"}}',
      '{"result":{"header":{"revision":"1"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: watcher range is empty"}}',
    ]);
  });
});

test('cancel of an active watch answers canceled (watch_id omitted when 0); an unknown ID gets no response', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    s.create(createReq('a'));
    s.create(createReq('b'));
    drain(s);
    assert.equal(s.cancel(0), true);
    assert.equal(s.cancel(1), true);
    assert.equal(s.cancel(1), false);
    s.request({ type: 'cancel', cancel: { watchId: 42 } });
    assert.deepEqual(texts(drain(s)), ['{"result":{"header":{"revision":"1"},"canceled":true}}', '{"result":{"header":{"revision":"1"},"watch_id":"1","canceled":true}}']);
    await f.apply(w.put('a', '1'), w.put('b', '1'));
    assert.deepEqual(drain(s), [], 'no events after the cancel');
  });
});

test('created precedes events; several watches on one stream; the stream text matches etcd\'s line for line', async () => {
  await withFixture(
    async (f) => {
      const s = f.hub.openStream();
      s.create(createReq('w/a'));
      s.create(createReq('w/', { end: 'w0', prevKv: true }));
      await f.apply(w.put('w/a', '1')); // 2
      await f.apply(w.put('w/a', '2')); // 3
      assert.deepEqual(texts(drain(s)), [
        '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"1","raft_term":"2"},"created":true}}',
        '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"1","raft_term":"2"},"watch_id":"1","created":true}}',
        '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"},"events":[{"kv":{"key":"dy9h","create_revision":"2","mod_revision":"2","version":"1","value":"MQ=="}}]}}',
        '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"},"watch_id":"1","events":[{"kv":{"key":"dy9h","create_revision":"2","mod_revision":"2","version":"1","value":"MQ=="}}]}}',
        '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"3","raft_term":"2"},"events":[{"kv":{"key":"dy9h","create_revision":"2","mod_revision":"3","version":"2","value":"Mg=="}}]}}',
        '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"3","raft_term":"2"},"watch_id":"1","events":[{"kv":{"key":"dy9h","create_revision":"2","mod_revision":"3","version":"2","value":"Mg=="},"prev_kv":{"key":"dy9h","create_revision":"2","mod_revision":"2","version":"1","value":"MQ=="}}]}}',
      ]);
      await f.apply(w.del('w/', 'w0')); // 4: a DELETE's kv holds only key and mod_revision
      assert.deepEqual(texts(drain(s)).map((t) => t.replace(/"header":\{[^}]*\}/, '"header":{…}')), [
        '{"result":{"header":{…},"events":[{"type":"DELETE","kv":{"key":"dy9h","mod_revision":"4"}}]}}',
        '{"result":{"header":{…},"watch_id":"1","events":[{"type":"DELETE","kv":{"key":"dy9h","mod_revision":"4"},"prev_kv":{"key":"dy9h","create_revision":"2","mod_revision":"3","version":"2","value":"Mg=="}}]}}',
      ]);
    },
    { header: () => ({ clusterId: 15118495548433857066n, memberId: 13668033151171901709n, raftTerm: 2 }) },
  );
});

test('an empty key means "\\0", the smallest key; key "" with range_end "\\0" watches everything', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    s.create(createReq('')); // the key "\0"
    s.create(createReq('', { end: '\0' })); // every key
    drain(s);
    await f.apply(w.put('\0', 'z'), w.put('a', '1'));
    assert.deepEqual(briefAll(drain(s)), ['id=0 rev=2 PUT \0=z@2', 'id=1 rev=2 PUT \0=z@2', 'id=1 rev=3 PUT a=1@3']);
  });
});

test('progress_request on a stream without watchers answers at once with watch_id -1', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('a', '1'));
    const s = f.hub.openStream();
    s.request(decodeWatchRequest({ progress_request: {} }));
    assert.deepEqual(texts(drain(s)), ['{"result":{"header":{"revision":"2"},"watch_id":"-1"}}']);
  });
});

test('fragment: a large response to a watcher that asked is split, all but the last marked; other watchers get one', async () => {
  await withFixture(
    async (f) => {
      const s = f.hub.openStream();
      s.create(createReq('k', { end: 'l', fragment: true }));
      s.create(createReq('k', { end: 'l' }));
      drain(s);
      await f.apply(w.txn(Array.from({ length: 10 }, (_, i): [string, string] => [`k${i}`, 'x'.repeat(40)])));
      const rs = drain(s);
      const frag = rs.filter((r) => r.res.watchId === 0);
      const whole = rs.filter((r) => r.res.watchId === 1);
      assert.equal(whole.length, 1);
      assert.equal(whole[0]!.res.events.length, 10);
      assert.ok(frag.length > 2);
      assert.deepEqual(
        frag.map((r) => r.res.fragment),
        frag.map((_, i) => i < frag.length - 1),
      );
      assert.deepEqual(
        frag.flatMap((r) => r.res.events.map((e) => e.kv!.modRevision + ':' + Buffer.from(e.kv!.key).toString())),
        whole[0]!.res.events.map((e) => e.kv!.modRevision + ':' + Buffer.from(e.kv!.key).toString()),
      );
      for (const r of frag) assert.ok(r.res.events.length === 1 || r.msg.text.length < 400, `${r.msg.text.length}`);
    },
    { fragmentBytes: 400 },
  );
});

test('requests decoded from JSON: create_request by proto or camel names, filters by name or number, {} ignored', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    s.request(decodeWatchRequest({ create_request: { key: 'YQ==', range_end: 'Yg==', filters: ['NOPUT'], prev_kv: true } }));
    s.request(decodeWatchRequest({ createRequest: { key: 'YQ==', rangeEnd: 'AA==', filters: [1], watchId: '9', startRevision: 1 } }));
    s.request(decodeWatchRequest({}));
    s.request(decodeWatchRequest({ cancel_request: { watch_id: 9 } }));
    assert.deepEqual(briefAll(drain(s)), ['id=0 rev=1 created', 'id=9 rev=1 created', 'id=9 rev=1 canceled']);
    assert.throws(
      () => decodeWatchRequest({ create_request: { filters: ['FOO'] } }),
      (e: unknown) => e instanceof DecodeError && e.code === 'ENUM' && e.message === 'unknown value "FOO" for enum etcdserverpb.WatchCreateRequest_FilterType',
    );
    assert.throws(() => decodeWatchRequest({ create_request: {}, cancel_request: {} }), (e: unknown) => e instanceof DecodeError && e.code === 'ONEOF');
    assert.throws(() => decodeWatchRequest({ create_request: { start_revision: 1.5 } }), DecodeError);
    // The client direction: what encodeWatchRequest writes decodes to the same request.
    const req = { type: 'create' as const, create: createReq('a', { end: 'b', startRevision: 3, filters: [WatchFilterType.NODELETE], watchId: 4 }) };
    assert.deepEqual(encodeWatchRequest(req), { create_request: { key: 'YQ==', range_end: 'Yg==', start_revision: '3', filters: ['NODELETE'], watch_id: '4' } });
    assert.deepEqual(decodeWatchRequest(encodeWatchRequest(req)), req);
    assert.deepEqual(encodeWatchRequest({ type: 'progress' }), { progress_request: {} });
  });
});

test('wire: a WatchResponse round-trips, and the pre-encoded form writes the same text', () => {
  const res: WatchResponse = {
    header: { clusterId: 1n, memberId: 2n, revision: 9, raftTerm: 3 },
    watchId: 4,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: '',
    fragment: true,
    events: [
      { type: 0, kv: { key: enc('a'), createRevision: 9, modRevision: 9, version: 1, value: enc('v'), lease: 2n ** 62n }, prevKv: undefined },
      { type: 1, kv: { key: enc('b'), createRevision: 0, modRevision: 9, version: 0, value: new Uint8Array(0), lease: 0n }, prevKv: undefined },
    ],
  };
  const text = encodeWatchResultText(res);
  assert.equal(text, JSON.stringify({ result: encodeWatchResponse(res) }));
  assert.deepEqual(decodeWatchResponse(JSON.parse(text).result), res);
  const pre = encodeWatchEventListText(res.events.map((e) => encodeWatchEventText(e)));
  assert.equal(encodeWatchResultTextFrom({ ...res, events: pre }), text);
  assert.equal(encodeWatchResultTextFrom({ ...res, events: '' }), encodeWatchResultText({ ...res, events: [] }));
});

test('encoding is shared: one text per event and form, one list text per distinct list', () => {
  const kv = (k: string, rev: number) => ({ key: enc(k), createRevision: 2, modRevision: rev, version: 1, value: enc('v'), lease: 0n });
  const evs: ChangeEvent[] = [
    { type: 'put', kv: kv('a', 5), prevKv: kv('a', 4) },
    { type: 'put', kv: kv('b', 5), prevKv: undefined },
  ];
  const t = new EventTexts(evs);
  assert.equal(t.list([0, 1], false), t.list([0, 1], false));
  // Without a previous value, both forms are one text.
  assert.equal(t.text(1, true), t.text(1, false));
  assert.notEqual(t.text(0, true), t.text(0, false));
  assert.ok(t.list([0, 1], true).includes('prev_kv') && !t.list([0, 1], false).includes('prev_kv'));
});

test('100 watchers on one prefix: every response carries the same encoded events', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    for (let i = 0; i < 100; i++) s.create(createReq('p/', { end: 'p0' }));
    drain(s);
    await f.apply(w.txn([['p/1', 'a'], ['p/2', 'b']]));
    const rs = drain(s);
    assert.equal(rs.length, 100);
    const bodies = new Set(rs.map((r) => r.msg.text.replace(/,"watch_id":"\d+"/, '')));
    assert.equal(bodies.size, 1);
  });
});

test('async iteration yields in order and waits; break closes the stream and cancels its watchers', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    s.create(createReq('a'));
    const seen: string[] = [];
    const reader = (async () => {
      for await (const m of s) {
        seen.push(m.kind);
        if (seen.length === 3) break;
      }
    })();
    await f.apply(w.put('a', '1'));
    await f.apply(w.put('a', '2'));
    await reader;
    assert.deepEqual(seen, ['created', 'events', 'events']);
    assert.equal(s.isClosed, true);
    assert.deepEqual(f.hub.stats(), { streams: 0, synced: 0, unsynced: 0, bufferedBytes: 0 });
    assert.deepEqual(await s.next(), { value: undefined, done: true });
  });
});

test('onReadable is called from a microtask when messages arrive in an empty buffer', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    let calls = 0;
    s.onReadable(() => calls++);
    s.create(createReq('a'));
    s.create(createReq('b'));
    assert.equal(calls, 0, 'never from inside the call that queued');
    await Promise.resolve();
    assert.equal(calls, 1);
    assert.equal(drain(s).length, 2);
  });
});

test('restored: after a snapshot the hub catches synced watchers up from the new history', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    s.create(createReq('k', { end: 'l' }));
    drain(s);
    await f.apply(w.put('k1', 'a')); // 2
    await f.applyQuietly(w.put('k2', 'b'), w.put('x', 'c'), w.put('k1', 'd')); // 3, 4, 5: never notified
    f.dropPending();
    f.hub.restored(f.store.currentRevision);
    f.timers.run();
    await f.apply(w.put('k3', 'e')); // 6
    assert.deepEqual(
      drain(s).flatMap((r) => r.res.events.map((e) => `${Buffer.from(e.kv!.key).toString()}@${e.kv!.modRevision}`)),
      ['k1@2', 'k2@3', 'k1@5', 'k3@6'],
    );
  });
});

test('misuse: revisions must increase and events belong to their revision (TypeError)', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('a', '1')); // 2
    assert.throws(() => f.hub.notify(2, []), TypeError);
    assert.throws(() => f.hub.notify(3, f.log), TypeError);
    assert.throws(() => f.hub.restored(1), TypeError);
    assert.throws(() => f.hub.openStream({ maxBufferedBytes: 0 }), TypeError);
  });
});

test('close ends every stream, is idempotent, and openStream then throws WatchError CLOSED', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    s.create(createReq('a'));
    const pending = (async () => {
      drain(s);
      return s.next();
    })();
    await Promise.all([f.hub.close(), f.hub.close()]);
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.throws(() => f.hub.openStream(), (e: unknown) => e instanceof WatchError && e.code === 'CLOSED');
    f.hub.notify(99, []); // ignored once closed
  });
});

test('a history read that fails for another reason than compaction is fatal: HISTORY_FAILED, streams end', () => {
  const source: HistorySource = {
    currentRevision: 10,
    compactRevision: -1,
    changes() {
      throw new Error('disk on fire');
    },
  };
  const timers = new FakeTimers();
  let fatal: WatchError | undefined;
  const hub = new WatchHub(source, { timers, onFatal: (e) => (fatal = e) });
  const s = hub.openStream();
  s.create(createReq('a', { startRevision: 3 }));
  timers.run();
  assert.equal(fatal?.code, 'HISTORY_FAILED');
  assert.equal((fatal?.cause as Error).message, 'disk on fire');
  assert.equal(s.isClosed, true);
});

test('a store that lags the hub (stale read) is retried later, not treated as caught up', () => {
  let current = 5;
  const source: HistorySource = {
    get currentRevision() {
      return current;
    },
    compactRevision: -1,
    changes(from) {
      const events: ChangeEvent[] = [];
      for (let r = from; r <= current; r++) {
        events.push({ type: 'put', kv: { key: enc('a'), createRevision: 2, modRevision: r, version: r - 1, value: enc(`${r}`), lease: 0n }, prevKv: undefined });
      }
      return { events, nextRevision: Math.max(from, current + 1) };
    },
  };
  const timers = new FakeTimers();
  const hub = new WatchHub(source, { timers, revision: 7, syncRetryMs: 50 });
  const s = hub.openStream();
  s.create(createReq('a', { startRevision: 6 }));
  timers.run(); // the store shows only up to 5: nothing to deliver yet
  assert.deepEqual(briefAll(drain(s)), ['id=0 rev=7 created']);
  current = 7;
  timers.advance(50);
  assert.deepEqual(drain(s).map((r) => brief(r.res)), ['id=0 rev=7 PUT a=6@6 PUT a=7@7']);
  assert.equal(hub.stats().synced, 1);
});
