import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, eventsOf, PostWatch, startWatchMember, unb64, type Json, type WatchMember } from '../watch/api-client.js';

// etcd's lease API (API.md section 7) over real HTTP against a real member, with etcd's answers as
// observed on etcd 3.4.23 (default timing: minimum TTL 2 s).

let m: WatchMember;
const streams: PostWatch[] = [];
before(async () => {
  // Random IDs from a fixed sequence that repeats its first value once (a collision).
  const ids = [0xffff_ffff_ffff_fff0n, 0xffff_ffff_ffff_fff0n, 0n, 12345n];
  let next = 0;
  m = await startWatchMember({ leaseRandomId: () => ids[next++] ?? BigInt(next) });
});
after(async () => {
  for (const s of streams) s.close();
  await m.dispose();
});

async function call(path: string, body: unknown): Promise<{ status: number; json: Json; text: string }> {
  const res = await fetch(m.url + path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // not JSON: the test looks at text
  }
  return { status: res.status, json, text };
}

async function ok(path: string, body: unknown): Promise<Json> {
  const r = await call(path, body);
  assert.equal(r.status, 200, `${path} ${JSON.stringify(body)} -> ${r.status} ${r.text}`);
  return r.json;
}

async function etcdError(path: string, body: unknown, status: number, code: number, message: string): Promise<void> {
  const r = await call(path, body);
  assert.deepEqual({ status: r.status, json: r.json }, { status, json: { error: message, message, code } }, `${path} ${JSON.stringify(body)}`);
}

const revision = async (): Promise<number> => Number((await ok('/v3/kv/range', { key: b64('\0') })).header.revision);
const NOT_FOUND = 'etcdserver: requested lease not found';

/** Sends a whole keep-alive body and returns the answer's lines, parsed. */
async function keepAlive(body: string): Promise<{ status: number; lines: Json[]; text: string }> {
  const r = await call('/v3/lease/keepalive', body);
  return { status: r.status, text: r.text, lines: r.text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Json) };
}

describe('grant', () => {
  test('answers header, ID and TTL as strings without changing the revision', async () => {
    const rev = await revision();
    const g = await ok('/v3/lease/grant', { TTL: 60, ID: 1000 });
    assert.deepEqual(Object.keys(g), ['header', 'ID', 'TTL']);
    assert.deepEqual([g.ID, g.TTL], ['1000', '60']);
    assert.equal(g.header.revision, String(rev));
    assert.equal(g.header.member_id, m.server.memberId.toString());
    assert.equal(await revision(), rev);
  });

  test('TTL below the minimum (0, 1, negative, absent, or the unknown field "ttl") is raised to ceil(1.5 election timeouts) = 2', async () => {
    for (const [i, body] of [{ TTL: 0 }, { TTL: 1 }, { TTL: -5 }, {}, { ttl: 60 }, { TTL: '-9223372036854775808' }].entries()) {
      const g = await ok('/v3/lease/grant', { ...body, ID: 2000 + i });
      assert.equal(g.TTL, '2', JSON.stringify(body));
    }
  });

  test('TTL up to 9,000,000,000 s is granted; above it is 400/11 "too large lease TTL", even beyond 2^63', async () => {
    assert.equal((await ok('/v3/lease/grant', { TTL: 9_000_000_000, ID: 3000 })).TTL, '9000000000');
    await etcdError('/v3/lease/grant', { TTL: 9_000_000_001, ID: 3001 }, 400, 11, 'etcdserver: too large lease TTL');
    await etcdError('/v3/lease/grant', '{"TTL":9223372036854775807}', 400, 11, 'etcdserver: too large lease TTL');
    const leases = (await ok('/v3/lease/leases', {})).leases.map((l: Json) => l.ID);
    assert.ok(!leases.includes('3001'), 'a refused grant grants nothing');
  });

  test('an existing ID is 412/9 "lease already exists" and the first lease is untouched', async () => {
    await ok('/v3/lease/grant', { TTL: 100, ID: 4000 });
    await etcdError('/v3/lease/grant', { TTL: 5, ID: '4000' }, 412, 9, 'etcdserver: lease already exists');
    assert.equal((await ok('/v3/lease/timetolive', { ID: 4000 })).grantedTTL, '100');
  });

  test('ID 0 gets a positive 63-bit ID; IDs stay exact beyond 2^53 as numbers or strings, negative ones included', async () => {
    const g = await ok('/v3/lease/grant', { TTL: 30 });
    assert.equal(g.ID, String(0x7fff_ffff_ffff_fff0n), 'the injected random value, kept to 63 bits');
    const again = await ok('/v3/lease/grant', { TTL: 30 });
    assert.equal(again.ID, '12345', 'a random ID that is taken, or 0, is drawn again');
    assert.equal((await call('/v3/lease/grant', '{"TTL":30,"ID":7587869402553040003}')).json.ID, '7587869402553040003');
    assert.equal((await ok('/v3/lease/grant', { TTL: 30, ID: '-9223372036854775808' })).ID, '-9223372036854775808');
    const ttl = await ok('/v3/lease/timetolive', { ID: '7587869402553040003' });
    assert.equal(ttl.grantedTTL, '30');
  });

  test('malformed input is a decode error, 400/3', async () => {
    for (const body of ['{"TTL":60.5}', '{"TTL":"x"}', '{"ID":9223372036854775808}', '{"TTL":true}', '[1]']) {
      const r = await call('/v3/lease/grant', body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json.code, 3, body);
    }
  });
});

describe('revoke', () => {
  test('an unknown lease, ID 0 or no ID is 404/5 "requested lease not found"', async () => {
    await etcdError('/v3/lease/revoke', { ID: 424242 }, 404, 5, NOT_FOUND);
    await etcdError('/v3/lease/revoke', { ID: 0 }, 404, 5, NOT_FOUND);
    await etcdError('/v3/lease/revoke', {}, 404, 5, NOT_FOUND);
    await etcdError('/v3/kv/lease/revoke', { ID: 424242 }, 404, 5, NOT_FOUND);
  });

  test('W9 revoke deletes the attached keys at one revision (+1) with one DELETE event each; watch sees them in one message', async () => {
    await ok('/v3/lease/grant', { TTL: 100, ID: 5000 });
    const w = new PostWatch(m.url);
    streams.push(w);
    w.send({ create_request: { key: b64('rv/'), range_end: b64('rv0') } });
    await w.next();
    for (const k of ['rv/b', 'rv/a']) await ok('/v3/kv/put', { key: b64(k), value: b64(k), lease: 5000 });
    await ok('/v3/kv/put', { key: b64('rv/keep'), value: b64('x') });
    await w.next();
    await w.next();
    await w.next();
    const rev = await revision();
    const r = await ok('/v3/lease/revoke', { ID: 5000 });
    assert.equal(r.header.revision, String(rev + 1));
    const ev = await w.next();
    assert.deepEqual(eventsOf(ev), [
      { type: 'DELETE', key: 'rv/a', value: '', mod: rev + 1 },
      { type: 'DELETE', key: 'rv/b', value: '', mod: rev + 1 },
    ]);
    assert.equal((await ok('/v3/kv/range', { key: b64('rv/'), range_end: b64('rv0') })).kvs.length, 1);
    assert.equal((await ok('/v3/lease/timetolive', { ID: 5000 })).TTL, '-1');
    await etcdError('/v3/lease/revoke', { ID: 5000 }, 404, 5, NOT_FOUND);
  });

  test('a lease without keys is revoked without changing the revision (alias /v3/kv/lease/revoke)', async () => {
    await ok('/v3/lease/grant', { TTL: 100, ID: 5100 });
    const rev = await revision();
    const r = await ok('/v3/kv/lease/revoke', { ID: 5100 });
    assert.deepEqual(Object.keys(r), ['header']);
    assert.equal(r.header.revision, String(rev));
    assert.equal(await revision(), rev);
  });
});

describe('put with a lease', () => {
  test('an unknown lease is 404/5 for put and for a txn put on the taken branch; nothing is written', async () => {
    const rev = await revision();
    await etcdError('/v3/kv/put', { key: b64('pl'), value: b64('v'), lease: 8 }, 404, 5, NOT_FOUND);
    await etcdError('/v3/kv/put', { key: b64('pl'), ignore_value: true, lease: 8 }, 404, 5, NOT_FOUND);
    await etcdError('/v3/kv/txn', { success: [{ request_put: { key: b64('pl'), lease: 8 } }] }, 404, 5, NOT_FOUND);
    // On the branch not taken the lease is not checked (etcd checks only the executed path).
    const t = await ok('/v3/kv/txn', {
      compare: [{ key: b64('zzz'), target: 'VERSION', result: 'EQUAL', version: 5 }],
      success: [{ request_put: { key: b64('pl'), lease: 8 } }],
    });
    assert.equal(t.succeeded, undefined);
    assert.equal(await revision(), rev);
  });

  test('a key shows its lease; timetolive lists keys only when asked', async () => {
    await ok('/v3/lease/grant', { TTL: 100, ID: 6000 });
    await ok('/v3/kv/put', { key: b64('ttl/a'), value: b64('1'), lease: 6000 });
    await ok('/v3/kv/put', { key: b64('ttl/b'), value: b64('1'), lease: '6000' });
    assert.equal((await ok('/v3/kv/range', { key: b64('ttl/a') })).kvs[0].lease, '6000');
    const t = await ok('/v3/lease/timetolive', { ID: 6000 });
    assert.deepEqual(Object.keys(t), ['header', 'ID', 'TTL', 'grantedTTL']);
    assert.ok(Number(t.TTL) >= 98 && Number(t.TTL) <= 99, `remaining counts down, truncated: ${t.TTL}`);
    assert.equal(t.grantedTTL, '100');
    const k = await ok('/v3/kv/lease/timetolive', { ID: 6000, keys: true });
    assert.deepEqual(k.keys.map(unb64).sort(), ['ttl/a', 'ttl/b']);
    const gone = await ok('/v3/lease/timetolive', { ID: 4242, keys: true });
    assert.deepEqual(gone, { header: gone.header, ID: '4242', TTL: '-1' });
  });

  test('leases lists every lease (alias /v3/kv/lease/leases) and rejects a malformed body', async () => {
    await ok('/v3/lease/grant', { TTL: 100, ID: 7000 });
    const l = await ok('/v3/lease/leases', {});
    assert.ok(l.leases.some((x: Json) => x.ID === '7000'));
    assert.deepEqual(Object.keys(l.leases[0]), ['ID']);
    assert.deepEqual((await ok('/v3/kv/lease/leases', {})).leases, l.leases);
    assert.equal((await call('/v3/lease/leases', '{')).status, 400);
  });
});

describe('keep-alive stream', () => {
  test('several IDs per body, newline-separated or concatenated: one result per request, in order; unknown leases have no TTL', async () => {
    await ok('/v3/lease/grant', { TTL: 100, ID: 8000 });
    const r = await keepAlive('{"ID":8000}\n{"ID":99}{"ID":"8000"}  \n');
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.lines.map((l) => [l.result.ID, l.result.TTL]),
      [
        ['8000', '100'],
        ['99', undefined],
        ['8000', '100'],
      ],
    );
    assert.match(r.text, /^\{"result":\{"header":\{"cluster_id":"\d+","member_id":"\d+","revision":"\d+","raft_term":"\d+"\},"ID":"8000","TTL":"100"\}\}\n/);
  });

  test('answers each request as it arrives, on one open stream', async () => {
    await ok('/v3/lease/grant', { TTL: 50, ID: 8100 });
    const s = new PostWatch(m.url, '/v3/lease/keepalive');
    streams.push(s);
    s.send({ ID: 8100 });
    const res = await s.response;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal((await s.next()).TTL, '50');
    s.send('{"ID":"81');
    assert.deepEqual(await s.lines.quiet(100), [], 'half a request is not answered');
    s.send('00"}');
    assert.equal((await s.next()).ID, '8100');
    s.endBody();
    await new Promise((r) => res.on('end', r));
  });

  test('a first message that does not decode is 500/2 with the error envelope; a later one ends the stream quietly', async () => {
    for (const body of ['{"ID":"x"}', 'garbage', '{"ID":7']) {
      const r = await keepAlive(body);
      assert.equal(r.status, 500, body);
      assert.equal(r.lines[0]!.code, 2, body);
      assert.equal(r.lines[0]!.error, r.lines[0]!.message);
    }
    await ok('/v3/lease/grant', { TTL: 100, ID: 8200 });
    const r = await keepAlive('{"ID":8200}\n{"ID":"x"}\n{"ID":8200}');
    assert.equal(r.status, 200);
    assert.deepEqual(r.lines.map((l) => l.result?.TTL), ['100']);
  });

  test('an empty body is an empty 200 stream; GET is 405; OPTIONS 200', async () => {
    const r = await keepAlive('');
    assert.deepEqual([r.status, r.text], [200, '']);
    assert.equal((await fetch(m.url + '/v3/lease/keepalive')).status, 405);
    assert.equal((await fetch(m.url + '/v3/lease/keepalive', { method: 'OPTIONS' })).status, 200);
    assert.equal((await fetch(m.url + '/v3/kv/lease/keepalive', { method: 'POST', body: '{}' })).status, 404, 'no /v3/kv alias for keepalive');
    assert.equal((await call('/v3beta/lease/grant', { TTL: 10, ID: 8300 })).json.ID, '8300');
  });
});

describe('expiry', () => {
  test('L13/W9 an expired lease deletes its keys in one revision with DELETE events, then answers as unknown', { timeout: 20_000 }, async () => {
    const w = new PostWatch(m.url);
    streams.push(w);
    w.send({ create_request: { key: b64('exp/'), range_end: b64('exp0') } });
    await w.next();
    await ok('/v3/lease/grant', { TTL: 2, ID: 9000 });
    await ok('/v3/kv/put', { key: b64('exp/1'), value: b64('a'), lease: 9000 });
    await ok('/v3/kv/put', { key: b64('exp/2'), value: b64('b'), lease: 9000 });
    await w.next();
    await w.next();
    const rev = await revision();
    const started = Date.now();
    const ev = await w.next(10_000, 'the expiry');
    const waited = Date.now() - started;
    assert.ok(waited > 1000, `not before the TTL: ${waited} ms`);
    assert.deepEqual(eventsOf(ev), [
      { type: 'DELETE', key: 'exp/1', value: '', mod: rev + 1 },
      { type: 'DELETE', key: 'exp/2', value: '', mod: rev + 1 },
    ]);
    assert.equal(await revision(), rev + 1);
    assert.equal((await ok('/v3/lease/timetolive', { ID: 9000 })).TTL, '-1');
    const k = await keepAlive('{"ID":9000}');
    assert.equal(k.lines[0]!.result.TTL, undefined);
  });

  test('keep-alives hold a lease past its TTL', { timeout: 20_000 }, async () => {
    await ok('/v3/lease/grant', { TTL: 2, ID: 9100 });
    await ok('/v3/kv/put', { key: b64('held'), value: b64('v'), lease: 9100 });
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 600));
      assert.equal((await keepAlive('{"ID":9100}')).lines[0]!.result.TTL, '2');
    }
    assert.equal((await ok('/v3/kv/range', { key: b64('held') })).kvs.length, 1);
  });
});
