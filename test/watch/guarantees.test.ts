// The watch guarantees of GUARANTEES.md section (b), one or more scripted tests each, on a real
// KvStore. The randomized checker (random.test.ts) covers the same guarantees over random
// histories; these pin down the cases by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WatchFilterType, WatchCancelReason } from '../../src/wire/index.js';
import { KvStore, type ChangeEvent, type WriteRequest } from '../../src/mvcc/index.js';
import { WatchHub } from '../../src/watch/index.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { brief, briefAll, createReq, dec, drain, enc, FakeTimers, w, withFixture, type Received } from './helpers.js';

const events = (rs: Received[]): string[] =>
  rs.flatMap((r) => r.res.events.map((e) => `${e.type === 1 ? 'DEL' : 'PUT'} ${dec(e.kv!.key)}@${e.kv!.modRevision}`));

test('W1 ordered: revisions never go back, across catch-up and live; txn events keep list order', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('a', '1'), w.put('b', '1')); // 2, 3
    await f.apply(w.txn([['c', '1'], ['a', '2'], ['b', '2']])); // 4: c, a, b in this order
    const s = f.hub.openStream();
    s.create(createReq('a', { end: 'z', startRevision: 1 }));
    f.timers.run();
    await f.apply(w.txn([['b', '3'], ['a', '3']])); // 5
    const got = events(drain(s));
    assert.deepEqual(got, ['PUT a@2', 'PUT b@3', 'PUT c@4', 'PUT a@4', 'PUT b@4', 'PUT b@5', 'PUT a@5']);
  });
});

test('W2 unique: a watcher created in the past while revisions keep arriving gets each event once (synced/unsynced handoff)', async () => {
  await withFixture(
    async (f) => {
      for (let i = 0; i < 10; i++) await f.apply(w.put(`k${i}`, 'x')); // 2..11
      const s = f.hub.openStream();
      s.create(createReq('k', { end: 'l', startRevision: 2 }));
      // Interleave: one catch-up round (one 3-event page), then a new revision, repeatedly.
      let rounds = 0;
      for (let i = 10; i < 20; i++) {
        if (f.hub.stats().unsynced > 0) rounds++;
        f.timers.step();
        await f.apply(w.put(`k${i}`, 'y')); // 12..21
      }
      f.timers.run();
      assert.ok(rounds >= 3, `the handoff happened while writes arrived (${rounds} rounds)`);
      const got = events(drain(s));
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `PUT k${i}@${i + 2}`));
      assert.equal(f.hub.stats().unsynced, 0);
    },
    { syncPageEvents: 3 },
  );
});

test('W2 unique: history the store already holds but the hub was not told about is left to notify', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('a', '1')); // 2
    await f.applyQuietly(w.put('a', '2'), w.put('a', '3')); // 3, 4 committed, not notified
    const s = f.hub.openStream();
    s.create(createReq('a', { startRevision: 1 }));
    f.timers.run(); // reads 2..4 from the history, may deliver only 2
    assert.deepEqual(events(drain(s)), ['PUT a@2']);
    f.notifyPending(); // 3, 4
    f.timers.run();
    assert.deepEqual(events(drain(s)), ['PUT a@3', 'PUT a@4']);
  });
});

test('W3 atomic: a txn touching N keys and a range delete each arrive in one response, live and in catch-up', async () => {
  await withFixture(
    async (f) => {
      const live = f.hub.openStream();
      live.create(createReq('k', { end: 'l' }));
      await f.apply(w.txn([['k1', 'a'], ['k2', 'a'], ['k3', 'a'], ['k4', 'a']])); // 2
      await f.apply(w.del('k', 'l')); // 3
      const rs = drain(live).slice(1);
      assert.deepEqual(
        rs.map((r) => r.res.events.length),
        [4, 4],
      );
      // Catch-up with a page limit below the txn size still never splits a revision.
      const past = f.hub.openStream();
      past.create(createReq('k', { end: 'l', startRevision: 1 }));
      f.timers.run();
      const caught = drain(past).slice(1);
      for (const r of caught) {
        const revs = new Set(r.res.events.map((e) => e.kv!.modRevision));
        for (const rev of revs) assert.equal(r.res.events.filter((e) => e.kv!.modRevision === rev).length, 4, brief(r.res));
      }
      assert.equal(events(caught).length, 8);
    },
    { syncPageEvents: 2 },
  );
});

test('W4 reliable: many watchers on one stream with prev_kv and a slow consumer see exactly the replay', async () => {
  await withFixture(
    async (f) => {
      const s = f.hub.openStream({ maxBufferedBytes: 600 });
      const prefixes = ['a', 'b', 'c'];
      for (const p of prefixes) s.create(createReq(p, { end: `${p}\xff`, prevKv: true }));
      s.create(createReq('a1', { prevKv: true }));
      const got = new Map<number, Received[]>();
      const take = (max?: number): void => {
        for (const r of drain(s, max)) got.set(r.res.watchId, [...(got.get(r.res.watchId) ?? []), r]);
      };
      for (let i = 0; i < 60; i++) {
        await f.apply(w.put(`${prefixes[i % 3]}${i % 4}`, `v${i}`));
        if (i % 7 === 0) take(2); // reads a little, rarely: the buffer fills
        f.timers.run();
      }
      for (let i = 0; i < 50 && f.hub.stats().unsynced + s.buffered.messages > 0; i++) {
        take();
        f.timers.run();
      }
      take();
      const ids = [0, 1, 2, 3];
      const ranges: [string, string | undefined][] = [['a', 'a\xff'], ['b', 'b\xff'], ['c', 'c\xff'], ['a1', undefined]];
      ids.forEach((id, n) => {
        const [lo, hi] = ranges[n]!;
        const expected = f.log
          .filter((e) => (hi === undefined ? dec(e.kv.key) === lo : dec(e.kv.key) >= lo && dec(e.kv.key) < hi))
          .map((e) => `PUT ${dec(e.kv.key)}=${dec(e.kv.value)}@${e.kv.modRevision} prev ${e.prevKv === undefined ? '-' : dec(e.prevKv.value)}`);
        const actual = (got.get(id) ?? []).flatMap((r) =>
          r.res.events.map((e) => `PUT ${dec(e.kv!.key)}=${dec(e.kv!.value)}@${e.kv!.modRevision} prev ${e.prevKv === undefined ? '-' : dec(e.prevKv.value)}`),
        );
        assert.deepEqual(actual, expected, `watcher ${id}`);
      });
    },
    { syncPageEvents: 4 },
  );
});

test('W5 resumable: the first event of a watch from r is the first matching event >= r; resuming at last+1 continues exactly', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('x', '1'), w.put('y', '1'), w.put('x', '2'), w.put('y', '2'), w.put('x', '3')); // 2..6
    const s1 = f.hub.openStream();
    s1.create(createReq('x', { startRevision: 3 })); // first x at or after 3 is x@4
    f.timers.run();
    const first = events(drain(s1));
    assert.deepEqual(first, ['PUT x@4', 'PUT x@6']);
    s1.close(); // the client disconnects after x@6 ...
    await f.apply(w.put('x', '4'), w.put('y', '3')); // 7, 8
    const s2 = f.hub.openStream();
    s2.create(createReq('x', { startRevision: 7 })); // ... and resumes from 6+1
    f.timers.run();
    await f.apply(w.put('x', '5')); // 9
    assert.deepEqual(events(drain(s2)), ['PUT x@7', 'PUT x@9']);
  });
});

test('W6 bookmarkable: a progress request on a fresh watch is answered; R covers every event already sent', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('a', '1')); // 2
    const s = f.hub.openStream();
    s.create(createReq('a'));
    s.requestProgress();
    assert.deepEqual(briefAll(drain(s)), ['id=0 rev=2 created', 'id=-1 rev=2']);
    await f.apply(w.put('a', '2'), w.put('b', '1')); // 3, 4
    s.request({ type: 'progress' });
    assert.deepEqual(briefAll(drain(s)), ['id=0 rev=3 PUT a=2@3', 'id=-1 rev=4']);
  });
});

test('W6 bookmarkable: while a watcher catches up, the progress answer waits until it is synced', async () => {
  await withFixture(
    async (f) => {
      for (let i = 0; i < 6; i++) await f.apply(w.put('k', `${i}`)); // 2..7
      const s = f.hub.openStream();
      s.create(createReq('k', { startRevision: 2 }));
      s.requestProgress();
      s.requestProgress(); // collapses into the same answer
      f.timers.step(); // one page: 2, 3
      const partial = drain(s);
      assert.deepEqual(briefAll(partial), ['id=0 rev=7 created', 'id=0 rev=3 PUT k=0@2 PUT k=1@3']);
      f.timers.run();
      const rest = drain(s);
      assert.deepEqual(briefAll(rest).slice(-1), ['id=-1 rev=7']);
      // After the bookmark at 7, nothing at or below 7 arrives.
      await f.apply(w.put('k', 'later')); // 8
      assert.deepEqual(events(drain(s)), ['PUT k@8']);
    },
    { syncPageEvents: 2 },
  );
});

test('W6 bookmarkable: periodic progress_notify at the interval, skipped after events and for future starts', async () => {
  await withFixture(
    async (f) => {
      const s = f.hub.openStream();
      s.create(createReq('a', { progressNotify: true })); // id 0
      s.create(createReq('b', { progressNotify: true, startRevision: 100 })); // id 1: waits for 100
      s.create(createReq('c')); // id 2: did not ask
      drain(s);
      f.timers.advance(1000);
      assert.deepEqual(briefAll(drain(s)), ['id=0 rev=1']);
      await f.apply(w.put('a', '1')); // 2
      f.timers.advance(1000); // events were sent since the last tick: no notification (etcd)
      assert.deepEqual(briefAll(drain(s)), ['id=0 rev=2 PUT a=1@2']);
      await f.apply(w.put('z', '1')); // 3
      f.timers.advance(1000);
      assert.deepEqual(briefAll(drain(s)), ['id=0 rev=3']);
    },
    { progressIntervalMs: 1000 },
  );
});

test('W7 start revisions: 0 is current+1, 1 is the full history, a future revision waits', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('k', '1'), w.put('k', '2')); // 2, 3
    const s = f.hub.openStream();
    s.create(createReq('k')); // 0: from 4
    s.create(createReq('k', { startRevision: 1 })); // 1: everything
    s.create(createReq('k', { startRevision: 6 })); // 2: waits for 6
    f.timers.run();
    await f.apply(w.put('k', '3'), w.put('k', '4'), w.put('k', '5')); // 4, 5, 6
    const rs = drain(s);
    const by = (id: number): string[] => events(rs.filter((r) => r.res.watchId === id));
    assert.deepEqual(
      rs.filter((r) => r.res.created).map((r) => brief(r.res)),
      ['id=0 rev=3 created', 'id=1 rev=3 created', 'id=2 rev=3 created'],
    );
    assert.deepEqual(by(0), ['PUT k@4', 'PUT k@5', 'PUT k@6']);
    assert.deepEqual(by(1), ['PUT k@2', 'PUT k@3', 'PUT k@4', 'PUT k@5', 'PUT k@6']);
    assert.deepEqual(by(2), ['PUT k@6']);
  });
});

test('W7 start revisions: a compacted start is created, then canceled with the compact revision (header without revision)', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('k', '1'), w.put('k', '2'), w.put('k', '3')); // 2, 3, 4
    await f.apply(w.compact(3));
    const s = f.hub.openStream();
    s.create(createReq('k', { startRevision: 2 }));
    f.timers.run();
    const rs = drain(s);
    assert.deepEqual(briefAll(rs), ['id=0 rev=4 created', 'id=0 rev=0 canceled compact=3']);
    assert.equal(rs[1]!.msg.text, '{"result":{"header":{},"canceled":true,"compact_revision":"3"}}');
    // The ID stays taken until the client cancels it, as in etcd.
    s.create(createReq('k'));
    assert.equal(drain(s)[0]!.res.watchId, 1);
    assert.equal(s.cancel(0), true);
    assert.deepEqual(briefAll(drain(s)), ['id=0 rev=4 canceled']);
  });
});

test('W7 start revisions: exactly at the compaction revision still delivers the DELETE tombstone there', async () => {
  await withFixture(async (f) => {
    await f.apply(w.put('k', '1'), w.put('j', '1'), w.del('k'), w.put('j', '2')); // 2, 3, 4 (delete k), 5
    await f.apply(w.compact(4));
    const s = f.hub.openStream();
    s.create(createReq('j', { end: 'l', startRevision: 4, prevKv: true }));
    f.timers.run();
    assert.deepEqual(briefAll(drain(s)), ['id=0 rev=5 created', 'id=0 rev=5 DEL k@4 PUT j=2@5(prev 1@3)']);
  });
});

test('W7 start revisions: a negative start is refused like newer etcd (created+canceled, watch_id -1)', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    assert.equal(s.create(createReq('k', { startRevision: -5 })), -1);
    assert.deepEqual(briefAll(drain(s)), [`id=-1 rev=1 created canceled reason=${JSON.stringify(WatchCancelReason.COMPACTED)}`]);
  });
});

test('W8 filters and fields: only keys in range, NOPUT, NODELETE, prev_kv', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream();
    s.create(createReq('b', { end: 'd' })); // 0: [b, d)
    s.create(createReq('b', { end: 'd', filters: [WatchFilterType.NOPUT] })); // 1
    s.create(createReq('b', { end: 'd', filters: [WatchFilterType.NODELETE], prevKv: true })); // 2
    s.create(createReq('b', { end: 'd', filters: [WatchFilterType.NOPUT, WatchFilterType.NODELETE] })); // 3: nothing
    s.create(createReq('c', { end: '\0' })); // 4: c and after
    drain(s);
    await f.apply(w.put('a', '1'), w.put('b', '1'), w.put('c', '1'), w.put('d', '1')); // 2..5
    await f.apply(w.put('b', '2')); // 6
    await f.apply(w.del('a', 'z')); // 7: deletes a, b, c, d
    const rs = drain(s);
    const by = (id: number): string[] => rs.filter((r) => r.res.watchId === id).map((r) => brief(r.res));
    assert.deepEqual(by(0), ['id=0 rev=3 PUT b=1@3', 'id=0 rev=4 PUT c=1@4', 'id=0 rev=6 PUT b=2@6', 'id=0 rev=7 DEL b@7 DEL c@7']);
    assert.deepEqual(by(1), ['id=1 rev=7 DEL b@7 DEL c@7']);
    assert.deepEqual(by(2), ['id=2 rev=3 PUT b=1@3', 'id=2 rev=4 PUT c=1@4', 'id=2 rev=6 PUT b=2@6(prev 1@3)']);
    assert.deepEqual(by(3), []);
    assert.deepEqual(by(4), ['id=4 rev=4 PUT c=1@4', 'id=4 rev=5 PUT d=1@5', 'id=4 rev=7 DEL c@7 DEL d@7']);
  });
});

test('W11/D7 slow consumer: the buffer stays bounded, the watcher falls back to history and catches up without a gap', async () => {
  await withFixture(async (f) => {
    const max = 2000;
    const s = f.hub.openStream({ maxBufferedBytes: max });
    s.create(createReq('k', { end: 'l' }));
    drain(s);
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      await f.apply(w.put(`k${i % 10}`, 'v'.repeat(50)));
      f.timers.run();
      peak = Math.max(peak, s.buffered.bytes);
    }
    // Bounded: the buffer never holds more than the bound plus one response.
    assert.ok(peak < max + 400, `peak ${peak}`);
    assert.equal(f.hub.stats().unsynced, 1, 'the watcher went back to catch-up');
    const got: Received[] = [];
    for (let i = 0; i < 100 && (s.buffered.messages > 0 || f.hub.stats().unsynced > 0); i++) {
      got.push(...drain(s));
      f.timers.run();
    }
    assert.deepEqual(events(got), f.log.map((e) => `PUT ${dec(e.kv.key)}@${e.kv.modRevision}`));
  });
});

test('W11 slow consumer: history compacted while the consumer lagged cancels with the compact revision, never a gap', async () => {
  await withFixture(async (f) => {
    const s = f.hub.openStream({ maxBufferedBytes: 300 });
    s.create(createReq('k'));
    drain(s);
    for (let i = 0; i < 20; i++) await f.apply(w.put('k', `${i}`)); // 2..21
    await f.apply(w.compact(15));
    f.timers.run();
    const got = [...drain(s)];
    for (let i = 0; i < 10; i++) {
      f.timers.run();
      got.push(...drain(s));
    }
    const last = got[got.length - 1]!.res;
    assert.equal(last.canceled, true);
    assert.equal(last.compactRevision, 15);
    // What arrived before the cancel is a gapless prefix of the replay.
    const revs = got.flatMap((r) => r.res.events.map((e) => e.kv!.modRevision));
    assert.deepEqual(revs, Array.from({ length: revs.length }, (_, i) => i + 2));
    assert.ok(revs.length < 14, 'the cancel came where history was missing');
  });
});

test('W5/W10 a member restart in the middle of catch-up: resuming at last+1 on the new hub loses and repeats nothing', async () => {
  const dir = makeTmpDir('keyward-watch-');
  try {
    const timers = new FakeTimers();
    let store = KvStore.open(dir.sub('data'));
    let index = 1;
    const apply = async (...reqs: WriteRequest[]): Promise<ChangeEvent[][]> =>
      (await store.apply(reqs.map((request) => ({ index: index++, request })))).events;
    const log: ChangeEvent[] = [];
    for (let i = 0; i < 12; i++) log.push(...(await apply(w.put(`k${i % 3}`, `${i}`))).flat()); // 2..13
    let hub = new WatchHub(store, { timers, syncPageEvents: 4 });
    const s1 = hub.openStream();
    s1.create(createReq('k', { end: 'l', startRevision: 2 }));
    timers.step(); // one page of catch-up, then the member dies
    const before = drain(s1).flatMap((r) => r.res.events);
    assert.ok(before.length > 0 && before.length < 12);
    await hub.close();
    await store.close();
    store = KvStore.open(dir.sub('data'));
    hub = new WatchHub(store, { timers, syncPageEvents: 4 });
    const last = before[before.length - 1]!.kv!.modRevision;
    const s2 = hub.openStream();
    s2.create(createReq('k', { end: 'l', startRevision: last + 1 }));
    timers.run();
    hub.notifyApplied(await apply(w.put('k9', 'after'))); // 14
    log.push({ type: 'put', kv: { key: enc('k9'), createRevision: 14, modRevision: 14, version: 1, value: enc('after'), lease: 0n }, prevKv: undefined });
    const after = drain(s2).flatMap((r) => r.res.events);
    assert.deepEqual(
      [...before, ...after].map((e) => `${dec(e.kv!.key)}@${e.kv!.modRevision}`),
      log.map((e) => `${dec(e.kv.key)}@${e.kv.modRevision}`),
    );
    await hub.close();
    await store.close();
  } finally {
    dir.cleanup();
  }
});
