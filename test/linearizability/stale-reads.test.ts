import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvClient } from '../../src/client/index.js';
import { TestCluster } from '../harness/cluster.js';
import { wrongStaleReads, type StaleRead } from './fault-run.js';

// The L7 check the fault runs apply to their serializable reads ("may be stale, never wrong"),
// against a real member: a read that matches the store at the revision it claims passes, however
// old; one that claims a revision its value does not belong to is reported.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('L7 serializable reads: stale but true passes; a value or absence that does not match its claimed revision is caught', async () => {
  const c = await TestCluster.start(1);
  const kv = new KvClient({ endpoints: [c.member(0).url] });
  try {
    const r1 = (await kv.put({ key: enc('k'), value: enc('v1') })).header.revision;
    const r2 = (await kv.put({ key: enc('k'), value: enc('v2') })).header.revision;
    const before = r1 - 1;
    const read = (value: string | null, modRevision: number, revision: number): StaleRead => ({ member: 'm0', key: 'k', value, modRevision, revision });
    const fine = [read('v1', r1, r1), read('v2', r2, r2), read(null, 0, before)];
    assert.deepEqual(await wrongStaleReads(kv, fine), []);
    const wrong = [
      read('v2', r2, r1), // a value from after the revision it claims
      read('v1', r1, r2), // an old value labelled with a newer revision (stale but passed off as fresh)
      read(null, 0, r1), // absent where the key existed
      read('v1', r2, r2), // a value with another write's mod revision
      read('v2', r2, r2 + 5), // a revision the store has not reached
    ];
    const found = await wrongStaleReads(kv, wrong);
    assert.equal(found.length, wrong.length, found.join('\n'));
    assert.match(found[0]!, /answered k = v2 \(mod \d+\) at revision \d+; the store at that revision holds v1/);
  } finally {
    await kv.close();
    await c.dispose();
  }
});
