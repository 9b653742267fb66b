import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { b64, openTestMember, unb64, type TestMember } from '../harness/member.js';

// etcd's v3 HTTP/JSON KV API through express, on a real LMDB member (API.md sections 1-5, 13).

let m: TestMember;
before(async () => {
  m = await openTestMember();
});
after(async () => {
  await m.dispose();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field

async function rpc(path: string, body: unknown, status = 200): Promise<Json> {
  const res = await request(m.app)
    .post(path)
    .set('Content-Type', 'application/json')
    .send(typeof body === 'string' ? body : JSON.stringify(body));
  assert.equal(res.status, status, `${path} ${JSON.stringify(body).slice(0, 200)} -> ${res.status} ${res.text.slice(0, 300)}`);
  return res.body as Json;
}

async function revision(): Promise<number> {
  return Number((await rpc('/v3/kv/range', { key: b64('\0') })).header.revision);
}

const put = (key: string, value: string, extra: Json = {}): Promise<Json> => rpc('/v3/kv/put', { key: b64(key), value: b64(value), ...extra });

describe('put and range', () => {
  test('a fresh store is at revision 1 and reads of a missing key carry only the header', async () => {
    const body = await rpc('/v3/kv/range', { key: b64('nokey') });
    assert.deepEqual(Object.keys(body), ['header']);
    assert.equal(body.header.revision, '1');
    assert.match(body.header.cluster_id, /^[0-9]+$/);
    assert.match(body.header.member_id, /^[0-9]+$/);
    assert.equal(typeof body.header.raft_term, 'string');
  });

  test('each put bumps the revision by one and create/mod/version follow etcd', async () => {
    const r1 = await put('foo', 'bar');
    const rev1 = Number(r1.header.revision);
    assert.equal(r1.prev_kv, undefined);
    const r2 = await put('foo', 'bar2', { prev_kv: true });
    assert.equal(Number(r2.header.revision), rev1 + 1);
    assert.deepEqual(r2.prev_kv, { key: b64('foo'), create_revision: String(rev1), mod_revision: String(rev1), version: '1', value: b64('bar') });
    const got = await rpc('/v3/kv/range', { key: b64('foo') });
    assert.deepEqual(got.kvs, [{ key: b64('foo'), create_revision: String(rev1), mod_revision: String(rev1 + 1), version: '2', value: b64('bar2') }]);
    assert.equal(got.count, '1');
  });

  test('an empty value is stored and omitted on read', async () => {
    await put('empty', '');
    const got = await rpc('/v3/kv/range', { key: b64('empty') });
    assert.equal(got.kvs[0].value, undefined);
    assert.equal(got.kvs[0].key, b64('empty'));
  });

  test('range_end, prefix end, "\\0", limit, more and count', async () => {
    for (const k of ['r/a', 'r/b', 'r/c', 'r/d', 'r0']) await put(k, 'v-' + k);
    const prefix = await rpc('/v3/kv/range', { key: b64('r/'), range_end: b64('r0') });
    assert.deepEqual(prefix.kvs.map((kv: Json) => unb64(kv.key)), ['r/a', 'r/b', 'r/c', 'r/d']);
    const limited = await rpc('/v3/kv/range', { key: b64('r/'), range_end: b64('r0'), limit: 2 });
    assert.equal(limited.kvs.length, 2);
    assert.equal(limited.more, true);
    assert.equal(limited.count, '4');
    const fromKey = await rpc('/v3/kv/range', { key: b64('r/c'), range_end: 'AA==', keys_only: true });
    assert.deepEqual(fromKey.kvs.map((kv: Json) => unb64(kv.key)), ['r/c', 'r/d', 'r0']);
    assert.equal(fromKey.kvs[0].value, undefined);
    assert.ok(fromKey.kvs[0].mod_revision);
    const all = await rpc('/v3/kv/range', { key: 'AA==', range_end: 'AA==', count_only: true });
    assert.equal(all.kvs, undefined);
    assert.ok(Number(all.count) >= 5);
    const inverted = await rpc('/v3/kv/range', { key: b64('r/d'), range_end: b64('r/a') });
    assert.equal(inverted.kvs, undefined);
  });

  test('sorting happens before limit; a sort target with order NONE sorts ascending', async () => {
    const newest = await rpc('/v3/kv/range', { key: b64('r/'), range_end: b64('r0'), sort_order: 'DESCEND', sort_target: 'CREATE', limit: 2 });
    assert.deepEqual(newest.kvs.map((kv: Json) => unb64(kv.key)), ['r/d', 'r/c']);
    const byValue = await rpc('/v3/kv/range', { key: b64('r/'), range_end: b64('r0'), sort_target: 4 });
    assert.deepEqual(byValue.kvs.map((kv: Json) => unb64(kv.value)), ['v-r/a', 'v-r/b', 'v-r/c', 'v-r/d']);
  });

  test('historical reads by revision, with the current revision in the header', async () => {
    const first = await put('hist', 'one');
    await put('hist', 'two');
    const old = await rpc('/v3/kv/range', { key: b64('hist'), revision: first.header.revision });
    assert.equal(unb64(old.kvs[0].value), 'one');
    assert.equal(old.header.revision, String(await revision()));
    const future = await rpc('/v3/kv/range', { key: b64('hist'), revision: String((await revision()) + 10) }, 400);
    assert.deepEqual(future, { error: 'etcdserver: mvcc: required revision is a future revision', message: 'etcdserver: mvcc: required revision is a future revision', code: 11 });
  });

  test('mod and create revision filters apply after count', async () => {
    const rev = await revision();
    await put('f/x', '1');
    await put('f/y', '1');
    const res = await rpc('/v3/kv/range', { key: b64('f/'), range_end: b64('f0'), min_mod_revision: String(rev + 2) });
    assert.deepEqual(res.kvs.map((kv: Json) => unb64(kv.key)), ['f/y']);
    assert.equal(res.count, '2');
  });
});

describe('put options', () => {
  test('ignore_value keeps the value; on a missing key it is "key not found" and changes nothing', async () => {
    await put('iv', 'keep');
    await rpc('/v3/kv/put', { key: b64('iv'), ignore_value: true });
    assert.equal(unb64((await rpc('/v3/kv/range', { key: b64('iv') })).kvs[0].value), 'keep');
    const before = await revision();
    const err = await rpc('/v3/kv/put', { key: b64('iv-missing'), ignore_value: true }, 400);
    assert.equal(err.error, 'etcdserver: key not found');
    assert.equal(err.code, 3);
    assert.equal(await revision(), before);
  });

  test('ignore_value with a value and ignore_lease with a lease are rejected', async () => {
    const a = await rpc('/v3/kv/put', { key: b64('iv'), value: b64('x'), ignore_value: true }, 400);
    assert.equal(a.message, 'etcdserver: value is provided');
    const b = await rpc('/v3/kv/put', { key: b64('iv'), lease: '5', ignore_lease: true }, 400);
    assert.equal(b.message, 'etcdserver: lease is provided');
  });

  test('a lease is stored; a plain put replaces it, ignore_lease keeps it (IDs above 2^53 stay exact)', async () => {
    const big = '7587869402553040003';
    await rpc('/v3/lease/grant', { TTL: 600, ID: big });
    await rpc('/v3/kv/put', { key: b64('leased'), value: b64('v'), lease: big });
    assert.equal((await rpc('/v3/kv/range', { key: b64('leased') })).kvs[0].lease, big);
    await rpc('/v3/kv/put', { key: b64('leased'), value: b64('v2'), ignore_lease: true });
    assert.equal((await rpc('/v3/kv/range', { key: b64('leased') })).kvs[0].lease, big);
    await put('leased', 'v3');
    assert.equal((await rpc('/v3/kv/range', { key: b64('leased') })).kvs[0].lease, undefined);
  });
});

describe('deleterange', () => {
  test('deleting nothing does not bump the revision; deleting N keys bumps it once', async () => {
    const before = await revision();
    const none = await rpc('/v3/kv/deleterange', { key: b64('nothing-here') });
    assert.equal(none.deleted, undefined);
    assert.equal(Number(none.header.revision), before);
    for (const k of ['d/1', 'd/2', 'd/3']) await put(k, k);
    const res = await rpc('/v3/kv/deleterange', { key: b64('d/'), range_end: b64('d0'), prev_kv: true });
    assert.equal(res.deleted, '3');
    assert.equal(Number(res.header.revision), before + 4);
    assert.deepEqual(res.prev_kvs.map((kv: Json) => unb64(kv.value)), ['d/1', 'd/2', 'd/3']);
    const gone = await rpc('/v3/kv/range', { key: b64('d/'), range_end: b64('d0') });
    assert.equal(gone.kvs, undefined);
  });

  test('a re-created key starts a new generation', async () => {
    await put('gen', 'a');
    await put('gen', 'b');
    await rpc('/v3/kv/deleterange', { key: b64('gen') });
    const again = await put('gen', 'c');
    const kv = (await rpc('/v3/kv/range', { key: b64('gen') })).kvs[0];
    assert.equal(kv.version, '1');
    assert.equal(kv.create_revision, again.header.revision);
  });
});

describe('txn', () => {
  test('compare on value chooses the branch; writes share one revision; later ops see earlier writes', async () => {
    await put('tx', 'bar2');
    const before = await revision();
    const res = await rpc('/v3/kv/txn', {
      compare: [{ key: b64('tx'), target: 'VALUE', result: 'EQUAL', value: b64('bar2') }],
      success: [
        { request_put: { key: b64('tx'), value: b64('bar3'), prev_kv: true } },
        { request_put: { key: b64('tx2'), value: b64('x') } },
        { request_range: { key: b64('tx') } },
      ],
      failure: [{ request_range: { key: b64('tx') } }],
    });
    assert.equal(res.succeeded, true);
    assert.equal(Number(res.header.revision), before + 1);
    assert.deepEqual(res.responses[0].response_put.header, { revision: String(before + 1) });
    assert.equal(unb64(res.responses[0].response_put.prev_kv.value), 'bar2');
    assert.equal(unb64(res.responses[2].response_range.kvs[0].value), 'bar3');
    assert.equal(res.responses[2].response_range.kvs[0].mod_revision, String(before + 1));
  });

  test('a failed compare runs the failure branch; a read-only txn does not bump the revision', async () => {
    const before = await revision();
    const res = await rpc('/v3/kv/txn', {
      compare: [{ key: b64('tx'), target: 'VERSION', result: 'GREATER', version: '100' }],
      success: [{ request_put: { key: b64('tx'), value: b64('no') } }],
      failure: [{ request_range: { key: b64('tx') } }],
    });
    assert.equal(res.succeeded, undefined);
    assert.equal(await revision(), before);
    assert.equal(unb64(res.responses[0].response_range.kvs[0].value), 'bar3');
  });

  test('VALUE compare on a missing key is false even for NOT_EQUAL; other targets compare against zero', async () => {
    const value = await rpc('/v3/kv/txn', { compare: [{ key: b64('absent'), target: 'VALUE', result: 'NOT_EQUAL', value: b64('x') }] });
    assert.equal(value.succeeded, undefined);
    const create = await rpc('/v3/kv/txn', { compare: [{ key: b64('absent'), target: 'CREATE', result: 'EQUAL', create_revision: '0' }] });
    assert.equal(create.succeeded, true);
  });

  test('compare with range_end must hold for every key in the range', async () => {
    await put('cr/a', '1');
    await put('cr/b', '1');
    await put('cr/b', '2');
    const res = await rpc('/v3/kv/txn', { compare: [{ key: b64('cr/'), range_end: b64('cr0'), target: 'VERSION', result: 'EQUAL', version: '1' }] });
    assert.equal(res.succeeded, undefined);
    const ok = await rpc('/v3/kv/txn', { compare: [{ key: b64('cr/'), range_end: b64('cr0'), target: 'VERSION', result: 'GREATER', version: '0' }] });
    assert.equal(ok.succeeded, true);
  });

  test('nested txns run and report their own responses', async () => {
    const res = await rpc('/v3/kv/txn', {
      success: [{ request_txn: { success: [{ request_put: { key: b64('nested'), value: b64('n') } }] } }],
    });
    assert.equal(res.succeeded, true);
    const inner = res.responses[0].response_txn;
    assert.deepEqual(inner.header, {});
    assert.equal(inner.succeeded, true);
    assert.deepEqual(inner.responses[0].response_put.header, { revision: res.header.revision });
  });

  test('an empty txn succeeds', async () => {
    const res = await rpc('/v3/kv/txn', {});
    assert.equal(res.succeeded, true);
  });

  test('limits: 129 ops, duplicate keys, {} ops, nested duplicates are rejected and change nothing', async () => {
    const before = await revision();
    const ops = (n: number): Json[] => Array.from({ length: n }, (_, i) => ({ request_put: { key: b64('many' + i), value: b64('v') } }));
    const tooMany = await rpc('/v3/kv/txn', { success: ops(129) }, 400);
    assert.equal(tooMany.message, 'etcdserver: too many operations in txn request');
    await rpc('/v3/kv/txn', { failure: ops(128) });
    const cmps = Array.from({ length: 129 }, () => ({ key: b64('x'), target: 'VERSION', version: '0' }));
    assert.equal((await rpc('/v3/kv/txn', { compare: cmps }, 400)).message, 'etcdserver: too many operations in txn request');
    const dup = await rpc('/v3/kv/txn', { success: [{ request_put: { key: b64('k'), value: b64('1') } }, { request_put: { key: b64('k'), value: b64('2') } }] }, 400);
    assert.equal(dup.message, 'etcdserver: duplicate key given in txn request');
    const covered = await rpc(
      '/v3/kv/txn',
      { failure: [{ request_put: { key: b64('k/1'), value: b64('1') } }, { request_delete_range: { key: b64('k/'), range_end: b64('k0') } }] },
      400,
    );
    assert.equal(covered.message, 'etcdserver: duplicate key given in txn request');
    const nestedDup = await rpc(
      '/v3/kv/txn',
      { success: [{ request_put: { key: b64('k'), value: b64('1') } }, { request_txn: { success: [{ request_put: { key: b64('k'), value: b64('2') } }] } }] },
      400,
    );
    assert.equal(nestedDup.message, 'etcdserver: duplicate key given in txn request');
    const emptyOp = await rpc('/v3/kv/txn', { success: [{}] }, 400);
    assert.equal(emptyOp.message, 'etcdserver: key not found');
    const emptyCompareKey = await rpc('/v3/kv/txn', { compare: [{ target: 'VERSION' }] }, 400);
    assert.equal(emptyCompareKey.message, 'etcdserver: key is not provided');
    const invalidInFailure = await rpc('/v3/kv/txn', { failure: [{ request_put: { value: b64('v') } }] }, 400);
    assert.equal(invalidInFailure.message, 'etcdserver: key is not provided');
    assert.equal(await revision(), before);
  });

  test('the same key in success and failure is allowed', async () => {
    await rpc('/v3/kv/txn', { success: [{ request_put: { key: b64('sf'), value: b64('1') } }], failure: [{ request_put: { key: b64('sf'), value: b64('2') } }] });
  });
});

describe('compaction', () => {
  test('reads below the compaction revision fail, at it succeed; compacting again or in the future fails', async () => {
    const a = await put('cmp', '1');
    const b = await put('cmp', '2');
    await put('cmp', '3');
    const before = await revision();
    await rpc('/v3/kv/compaction', { revision: b.header.revision, physical: true });
    assert.equal(await revision(), before);
    const old = await rpc('/v3/kv/range', { key: b64('cmp'), revision: a.header.revision }, 400);
    assert.equal(old.message, 'etcdserver: mvcc: required revision has been compacted');
    assert.equal(old.code, 11);
    const at = await rpc('/v3/kv/range', { key: b64('cmp'), revision: b.header.revision });
    assert.equal(unb64(at.kvs[0].value), '2');
    const again = await rpc('/v3/kv/compaction', { revision: b.header.revision }, 400);
    assert.equal(again.message, 'etcdserver: mvcc: required revision has been compacted');
    const future = await rpc('/v3/kv/compaction', { revision: String(before + 5) }, 400);
    assert.equal(future.message, 'etcdserver: mvcc: required revision is a future revision');
  });
});

describe('transport', () => {
  test("etcd's documented curl examples work with a form content type", async () => {
    const res = await request(m.app).post('/v3/kv/put').type('form').send(`{"key": "${b64('curl')}", "value": "${b64('ok')}"}`);
    assert.equal(res.status, 200);
    const got = await request(m.app).post('/v3/kv/range').set('Content-Type', 'text/plain').send(`{"key": "${b64('curl')}"}`);
    assert.equal(unb64(got.body.kvs[0].value), 'ok');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['grpc-metadata-content-type'], 'application/grpc');
  });

  test('/v3beta is an alias, GET on an RPC is 405, unknown RPCs are 404, OPTIONS is 200', async () => {
    const beta = await request(m.app).post('/v3beta/kv/range').send(JSON.stringify({ key: b64('curl') }));
    assert.equal(beta.status, 200);
    const get = await request(m.app).get('/v3/kv/range');
    assert.equal(get.status, 405);
    assert.equal(get.text, 'Method Not Allowed');
    const unknown = await request(m.app).post('/v3/kv/nope').send('{}');
    assert.equal(unknown.status, 404);
    assert.equal((await request(m.app).options('/v3/kv/put')).status, 200);
  });

  test('the express router and the fast path answer the same requests identically', async () => {
    await put('door', 'd');
    const bodies = ['{"key":"' + b64('door') + '"}', '{"key":""}', '{"key":"YQ","value":"YQ=="}', '{"key":"' + b64('door') + '","revision":"999999"}'];
    for (const body of bodies) {
      const viaFast = await request(m.app).post('/v3/kv/range').send(body);
      const viaExpress = await request(m.express).post('/v3/kv/range').send(body);
      assert.equal(viaExpress.status, viaFast.status);
      assert.equal(viaExpress.text, viaFast.text);
    }
    // A query string takes the express door; the answer is the same.
    const q = await request(m.app).post('/v3/kv/range?x=1').send(bodies[0]!);
    assert.equal(unb64(q.body.kvs[0].value), 'd');
  });

  test('/version, /health and maintenance/status', async () => {
    const v = await request(m.app).get('/version');
    assert.equal(v.status, 200);
    assert.match(v.body.etcdserver, /^3\.4\./);
    const h = await request(m.app).get('/health');
    assert.deepEqual(h.body, { health: 'true' });
    const s = await rpc('/v3/maintenance/status', {});
    assert.equal(s.leader, s.header.member_id);
    assert.ok(Number(s.dbSize) > 0);
    assert.ok(Number(s.raftIndex) > 0);
    assert.equal(s.raftIndex, s.raftAppliedIndex);
    assert.equal(s.header.revision, String(await revision()));
  });
});

describe('malformed input: the right status, code and message, and nothing changes', () => {
  const cases: Array<[string, string, string, number, number, RegExp | string]> = [
    ['bad JSON', '/v3/kv/put', '{"key":', 400, 3, /./],
    ['an array body', '/v3/kv/put', '[1,2]', 400, 3, /./],
    ['bad base64', '/v3/kv/put', '{"key":"!!!","value":"YQ=="}', 400, 3, /base64/],
    ['unpadded base64', '/v3/kv/put', '{"key":"YQ","value":"YQ=="}', 400, 3, /base64/],
    ['url-safe base64', '/v3/kv/put', '{"key":"-_8=","value":"YQ=="}', 400, 3, /base64/],
    ['a number for bytes', '/v3/kv/put', '{"key":5}', 400, 3, /./],
    ['a string for a bool', '/v3/kv/put', '{"key":"YQ==","prev_kv":"true"}', 400, 3, /./],
    ['a float for an int64', '/v3/kv/range', '{"key":"YQ==","limit":60.5}', 400, 3, /./],
    ['a revision beyond 2^53', '/v3/kv/range', '{"key":"YQ==","revision":"9007199254740993"}', 400, 3, /./],
    ['a lease beyond int64', '/v3/kv/put', '{"key":"YQ==","lease":"9223372036854775808"}', 400, 3, /./],
    ['an unknown sort_order name', '/v3/kv/range', '{"key":"YQ==","sort_order":"FOO"}', 400, 3, 'unknown value "FOO" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['an unknown sort_target number (etcd panics)', '/v3/kv/range', '{"key":"YQ==","sort_target":9}', 400, 3, /./],
    ['an unknown sort_order number (etcd ignores)', '/v3/kv/range', '{"key":"YQ==","sort_order":7}', 400, 3, /./],
    ['an empty key', '/v3/kv/put', '{"key":"","value":"YQ=="}', 400, 3, 'etcdserver: key is not provided'],
    ['an empty body', '/v3/kv/put', '', 400, 3, 'etcdserver: key is not provided'],
    ['an empty range key', '/v3/kv/range', '{}', 400, 3, 'etcdserver: key is not provided'],
    ['an empty deleterange key', '/v3/kv/deleterange', '{}', 400, 3, 'etcdserver: key is not provided'],
    ['deep nesting', '/v3/kv/txn', '{"success":[{"request_txn":'.repeat(2000) + '{}' + '}]}'.repeat(2000), 400, 3, /./],
  ];
  for (const [name, path, body, status, code, message] of cases) {
    test(name, async () => {
      const before = await revision();
      const res = await request(m.app).post(path).set('Content-Type', 'application/json').send(body);
      assert.equal(res.status, status, res.text);
      assert.equal(res.body.code, code);
      assert.equal(res.body.error, res.body.message);
      if (typeof message === 'string') assert.equal(res.body.message, message);
      else assert.match(res.body.message, message);
      assert.equal(await revision(), before);
    });
  }

  test('only the first JSON value is read, as etcd does', async () => {
    const res = await request(m.app).post('/v3/kv/put').send(`{"key":"${b64('first')}","value":"${b64('1')}"}{"key":"${b64('second')}"}`);
    assert.equal(res.status, 200);
    assert.equal((await rpc('/v3/kv/range', { key: b64('second') })).kvs, undefined);
  });

  test('__proto__ keys do not pollute and are ignored', async () => {
    const res = await request(m.app).post('/v3/kv/put').send(`{"__proto__":{"polluted":true},"key":"${b64('proto')}","value":"${b64('p')}"}`);
    assert.equal(res.status, 200);
    assert.equal(({} as Json)['polluted'], undefined);
  });
});
