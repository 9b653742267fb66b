import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, compact, currentRevision, del, eventsOf, put, SseWatch, startWatchMember, txn, until, type WatchMember } from './api-client.js';

// GET /v3/watch with Accept: text/event-stream: one watch as server-sent events, through a real
// socket against a real member.

let m: WatchMember;
const open: SseWatch[] = [];
const sse = (query: string, headers: Record<string, string> = {}): SseWatch => {
  const s = new SseWatch(m.url, query, headers);
  open.push(s);
  return s;
};
const q = (o: Record<string, string | number | boolean>): string =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');

before(async () => {
  m = await startWatchMember({ watchProgressNotifyIntervalMs: 300 });
});
after(async () => {
  for (const s of open) s.close();
  await m.dispose();
});

describe('events', () => {
  test('created, then one `event: watch` per response with `id:` = its highest event revision', async () => {
    const s = sse(q({ key: b64('sse/a') }));
    const res = await s.response;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.equal(res.headers['cache-control'], 'no-cache');
    const created = await s.next();
    assert.equal(created.event, 'watch');
    assert.equal(created.id, undefined, 'created is no resume point');
    assert.equal(created.result.created, true);
    const rev = await put(m.url, 'sse/a', 'v');
    const ev = await s.next();
    assert.equal(ev.event, 'watch');
    assert.equal(ev.id, String(rev));
    // The data is the same {"result":…} text as a line of the POST stream.
    assert.match(ev.data, /^\{"result":\{"header":\{.*\},"events":\[\{"kv":\{"key":"c3NlL2E=",.*\}\]\}\}$/);
    assert.deepEqual(eventsOf(ev.result), [{ type: 'PUT', key: 'sse/a', value: 'v', mod: rev }]);
  });

  test('range_end, prev_kv, filters by name, number and repeated, one event per txn revision', async () => {
    await put(m.url, 'ssr/c', 'old');
    const s = sse(`${q({ key: b64('ssr/'), range_end: b64('ssr0'), prev_kv: true })}&filters=NODELETE`);
    const n = sse(`${q({ key: b64('ssr/'), range_end: b64('ssr0') })}&filters=0`);
    const both = sse(`${q({ key: b64('ssr/'), range_end: b64('ssr0') })}&filters=NOPUT&filters=1`);
    const comma = sse(`${q({ key: b64('ssr/'), range_end: b64('ssr0'), filters: 'NOPUT,NODELETE' })}`);
    for (const x of [s, n, both, comma]) assert.equal((await x.next()).result.created, true);
    const rev = await txn(m.url, [['ssr/a', '1'], ['ssr/c', 'new']]);
    const d = await del(m.url, 'ssr/a');
    const e = await s.next();
    assert.equal(e.id, String(rev));
    assert.deepEqual(eventsOf(e.result).map((x) => x.key), ['ssr/a', 'ssr/c']);
    assert.equal(Buffer.from(e.result.events[1].prev_kv.value, 'base64').toString(), 'old');
    const del1 = await n.next();
    assert.deepEqual(eventsOf(del1.result), [{ type: 'DELETE', key: 'ssr/a', value: '', mod: d }]);
    assert.deepEqual(await s.events.quiet(100), [], 'NODELETE drops the delete');
    assert.deepEqual(await both.events.quiet(1), [], 'NOPUT and NODELETE drop everything');
    assert.deepEqual(await comma.events.quiet(1), []);
  });

  test('an unencoded `+` of base64 in the query (read as a space) still names the key', async () => {
    const key = '\xfb\xef';
    assert.equal(b64(key), '++8=');
    const s = sse(`key=${b64(key)}`);
    assert.equal((await s.next()).result.created, true);
    const rev = await put(m.url, key, 'v');
    assert.equal((await s.next()).id, String(rev));
  });

  test('progress_notify=true: `event: progress` with `id:` = its revision', async () => {
    const rev = await currentRevision(m.url);
    const s = sse(q({ key: b64('ssp/k'), progress_notify: true }));
    await s.next();
    const p = await s.next(3000, 'a progress event');
    assert.equal(p.event, 'progress');
    assert.ok(Number(p.id) >= rev);
    assert.equal(p.id, p.result.header.revision);
    assert.equal(p.result.events, undefined);
  });

  test('start_revision in the past replays history; the id is the last revision of the batch', async () => {
    const r1 = await put(m.url, 'ssh/k', '1');
    const r2 = await put(m.url, 'ssh/k', '2');
    const s = sse(q({ key: b64('ssh/k'), start_revision: r1 }));
    await s.next();
    const ev = await s.next();
    assert.deepEqual(eventsOf(ev.result).map((e) => e.mod), [r1, r2]);
    assert.equal(ev.id, String(r2));
  });
});

describe('resume', () => {
  test('W5: a reconnect with Last-Event-ID R resumes at R+1, nothing lost or repeated (and overrides start_revision)', async () => {
    const key = 'ssl/';
    const query = q({ key: b64(key), range_end: b64('ssl0'), start_revision: 1_000_000 });
    const first = sse(q({ key: b64(key), range_end: b64('ssl0') }));
    await first.next();
    const written: number[] = [];
    for (let i = 0; i < 3; i++) written.push(await put(m.url, `${key}${i}`, 'a'));
    let lastId = '';
    const seen: number[] = [];
    while (seen.length < 3) {
      const ev = await first.next();
      seen.push(...eventsOf(ev.result).map((e) => e.mod));
      lastId = ev.id!;
    }
    first.close();
    // Written while no one watched.
    for (let i = 0; i < 3; i++) written.push(await put(m.url, `${key}${i}`, 'b'));
    const again = sse(query, { 'Last-Event-ID': lastId });
    assert.equal((await again.next()).result.created, true);
    while (seen.length < 6) seen.push(...eventsOf((await again.next()).result).map((e) => e.mod));
    written.push(await put(m.url, `${key}x`, 'c'));
    seen.push(...eventsOf((await again.next()).result).map((e) => e.mod));
    assert.deepEqual(seen, written);
  });

  test('a compacted start answers `event: canceled` with the compact revision', async () => {
    const a = await put(m.url, 'ssc/k', '1');
    const b = await put(m.url, 'ssc/k', '2');
    await compact(m.url, b);
    const s = sse(q({ key: b64('ssc/k') }), { 'Last-Event-ID': String(a - 1) });
    assert.equal((await s.next()).result.created, true);
    const c = await s.next();
    assert.equal(c.event, 'canceled');
    assert.equal(c.id, undefined);
    assert.equal(c.result.canceled, true);
    assert.equal(c.result.compact_revision, String(b));
  });
});

describe('bad parameters: 400 with etcd-style error JSON, no stream', () => {
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ['key=!!!', {}, 3, 'illegal base64 data at input byte 0'],
    ['', {}, 3, 'etcdserver: key is not provided'],
    [`key=${b64('k')}&bogus=1`, {}, 3, 'keyward: unknown watch parameter "bogus"'],
    [`key=${b64('k')}&key=${b64('j')}`, {}, 3, 'keyward: watch parameter "key" is given more than once'],
    [`key=${b64('k')}&prev_kv=yes`, {}, 3, 'keyward: watch parameter "prev_kv" must be true or false'],
    [`key=${b64('k')}&filters=FOO`, {}, 3, 'unknown value "FOO" for enum etcdserverpb.WatchCreateRequest_FilterType'],
    [`key=${b64('k')}&start_revision=1.5`, {}, 3, ''],
    [`key=${b64('k')}`, { 'Last-Event-ID': 'abc' }, 3, 'keyward: Last-Event-ID "abc" is not a revision'],
    [`key=${b64('zz')}&range_end=${b64('aa')}`, {}, 3, 'mvcc: watcher range is empty'],
    [`key=${b64('k')}&start_revision=-5`, {}, 3, 'etcdserver: mvcc: required revision has been compacted'],
  ];
  for (const [query, headers, code, message] of cases) {
    test(`${query || '(no key)'} ${JSON.stringify(headers)}`, async () => {
      const s = sse(query, headers);
      const { status, text } = await s.body();
      assert.equal(status, 400);
      const json = JSON.parse(text) as { error: string; message: string; code: number };
      assert.equal(json.code, code);
      assert.equal(json.error, json.message);
      if (message !== '') assert.equal(json.message, message);
      else assert.ok(json.message.length > 0);
    });
  }
  test('no stream was left behind by the refusals', async () => {
    for (const s of open.splice(0)) s.close();
    await until(() => m.server.watchStats().streams === 0, 5000, 'streams released');
  });
});

describe('lifecycle', () => {
  test('a client that goes away releases its stream; stopping the member ends the event stream', async () => {
    const s = sse(q({ key: b64('ssg/k') }));
    await s.next();
    assert.equal(m.server.watchStats().streams, 1);
    s.close();
    await until(() => m.server.watchStats().streams === 0, 5000, 'the stream released');

    const other = await startWatchMember();
    const t = new SseWatch(other.url, q({ key: b64('k') }));
    open.push(t);
    await t.next();
    await other.dispose();
    await assert.rejects(t.events.next(2000, 'the end'), /ended/);
  });
});
