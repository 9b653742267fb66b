import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { KeywardError, KvClient } from '../../src/client/index.js';
import { TestCluster } from '../harness/cluster.js';

// GUARANTEES L15, client retry safety, against a real member: the client sends a write to another
// endpoint only when the first certainly never received it, so a retry can never apply it twice;
// reads fail over after any failure.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string => (b === undefined ? '' : new TextDecoder().decode(b));

let cluster: TestCluster;
let member: string;
/** Forwards every request to the member and cuts the client off before any answer reaches it. */
let answerLosing: Server;
let lossyUrl: string;
const cut: Socket[] = [];

before(async () => {
  cluster = await TestCluster.start(1);
  member = cluster.member(0).url;
  const target = new URL(member);
  answerLosing = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream);
    // The member answered: the request was applied. The client hears nothing but a reset.
    upstream.once('data', () => {
      cut.push(client);
      client.resetAndDestroy();
      upstream.destroy();
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((r) => answerLosing.listen(0, '127.0.0.1', r));
  lossyUrl = `http://127.0.0.1:${(answerLosing.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((r) => answerLosing.close(() => r()));
  await cluster.dispose();
});

async function unusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise<void>((r) => s.close(() => r()));
  return url;
}

test('L15 a write whose answer was lost is not sent again: the caller gets UNAVAILABLE and it applied exactly once', async () => {
  const kv = new KvClient({ endpoints: [lossyUrl, member], timeoutMs: 3000 });
  try {
    const before = cut.length;
    const err = await kv.put({ key: enc('l15/put'), value: enc('v') }).catch((e: unknown) => e);
    assert.ok(err instanceof KeywardError, String(err));
    assert.equal(err.code, 'UNAVAILABLE');
    assert.equal(cut.length, before + 1, 'the write reached the member through the lossy endpoint');
    // A txn that is not idempotent either: it must not run a second time on the next endpoint.
    const txn = await kv
      .txn({ compare: [], success: [{ type: 'put', put: { key: enc('l15/txn'), value: enc('once'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } }], failure: [] })
      .catch((e: unknown) => e);
    assert.ok(txn instanceof KeywardError && txn.code === 'UNAVAILABLE', String(txn));
    const direct = new KvClient({ endpoints: [member] });
    for (const k of ['l15/put', 'l15/txn']) {
      const got = await direct.range({ key: enc(k) });
      assert.equal(got.kvs.length, 1, `${k} was applied`);
      assert.equal(got.kvs[0]!.version, 1, `${k} was applied once, not retried`);
    }
    await direct.close();
  } finally {
    await kv.close();
  }
});

test('L15 reads fail over after the same failure; a write fails over only from an endpoint it never reached', async () => {
  const direct = new KvClient({ endpoints: [member] });
  await direct.put({ key: enc('l15/read'), value: enc('r') });
  const reads = new KvClient({ endpoints: [lossyUrl, member], timeoutMs: 3000 });
  const writes = new KvClient({ endpoints: [await unusedUrl(), member], timeoutMs: 3000 });
  try {
    assert.equal(dec((await reads.range({ key: enc('l15/read') })).kvs[0]?.value), 'r');
    // Connection refused: nothing was sent, so the write goes to the next endpoint and applies once.
    await assert.doesNotReject(writes.put({ key: enc('l15/refused'), value: enc('w') }), 'a write the first endpoint never saw goes to the next one');
    const got = await direct.range({ key: enc('l15/refused') });
    assert.equal(got.kvs[0]?.version, 1);
    assert.equal(dec(got.kvs[0]?.value), 'w');
  } finally {
    await reads.close();
    await writes.close();
    await direct.close();
  }
});
