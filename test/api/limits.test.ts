import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { b64, openTestMember, type TestMember } from '../harness/member.js';

// D1: --max-request-bytes bounds the proposal exactly where etcd puts it; bodies far beyond it are
// refused before they are parsed, with gRPC's message-size error.

let m: TestMember;
before(async () => {
  m = await openTestMember();
});
after(async () => {
  await m.dispose();
});

const putBody = (key: string, valueBytes: number): string =>
  JSON.stringify({ key: b64(key), value: Buffer.alloc(valueBytes, 0x61).toString('base64') });

async function revision(): Promise<string> {
  return (await request(m.app).post('/v3/kv/range').send(JSON.stringify({ key: b64('x') }))).body.header.revision as string;
}

test('D1 a 3-byte key with a 1,572,838-byte value is the largest put under the default limit', async () => {
  const ok = await request(m.app).post('/v3/kv/put').send(putBody('big', 1572838));
  assert.equal(ok.status, 200, ok.text.slice(0, 200));
  const rev = await revision();
  const tooLarge = await request(m.app).post('/v3/kv/put').send(putBody('big', 1572839));
  assert.equal(tooLarge.status, 400);
  assert.deepEqual(tooLarge.body, { error: 'etcdserver: request is too large', message: 'etcdserver: request is too large', code: 3 });
  assert.equal(await revision(), rev);
});

test('D1 a body beyond the gRPC message limit is 429 / code 8 and is not parsed', async () => {
  const rev = await revision();
  const res = await request(m.app).post('/v3/kv/put').send(putBody('huge', 2_300_000));
  assert.equal(res.status, 429);
  assert.equal(res.body.code, 8);
  assert.match(res.body.message, /^grpc: received message larger than max \(\d+ vs\. 2097152\)$/);
  assert.equal(await revision(), rev);
});

test('D1 the limit is configurable', async () => {
  const small = await openTestMember({ maxRequestBytes: 1024 });
  try {
    assert.equal((await request(small.app).post('/v3/kv/put').send(putBody('k', 900))).status, 200);
    const res = await request(small.app).post('/v3/kv/put').send(putBody('k', 1100));
    assert.equal(res.status, 400);
    assert.equal(res.body.message, 'etcdserver: request is too large');
  } finally {
    await small.dispose();
  }
});
