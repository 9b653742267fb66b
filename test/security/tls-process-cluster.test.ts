// The harness's secure mode (test/harness/process-cluster.ts): three real `keyward serve`
// processes sharing one certs dir made by CertStore.init before they start, https client ports,
// auth bootstrapped on every member. Peer mTLS tests build on it (issue 5 part B2).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { callSlot, killSlots, leaderSlot, processSlots, startSlots } from '../harness/process-cluster.js';
import { tlsConnection, tlsPost } from '../harness/tls-client.js';
import { makeTmpDir } from '../harness/tmpdir.js';

const dir = makeTmpDir('keyward-tls-cluster-');
after(() => dir.cleanup());

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('a secure three-member process cluster: one certs dir, https everywhere on the client port, root writes on one member and reads on another', async () => {
  const slots = await processSlots(3, dir, 's', { secure: true });
  try {
    assert.ok(slots.every((s) => s.clientUrl.startsWith('https://') && s.certsDir === dir.sub('certs')));
    assert.ok(existsSync(dir.sub('certs/members/s2/server.crt')), 'every member has its certificates before it starts');
    await startSlots(slots, 'tls-cluster');
    const leader = await leaderSlot(slots);
    const other = slots[(leader + 1) % 3]!;
    const put = await callSlot(slots[leader]!, '/v3/kv/put', { key: b64('c'), value: b64('1') });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    const got = await callSlot(other, '/v3/kv/range', { key: b64('c') });
    assert.equal(got.json['kvs'][0]['value'], b64('1'));
    // Auth is on cluster-wide (bootstrapped once, idempotently, by every member).
    for (const s of slots) assert.equal((await callSlot(s, '/v3/auth/status', {})).json['enabled'], true, s.name);
    // Without a certificate no member completes a handshake.
    for (const s of slots) await assert.rejects(tlsPost(s.clientUrl, '/v3/kv/range', { key: b64('c') }, tlsConnection({ ca: s.tls!.ca })), s.name);
  } finally {
    await killSlots(slots);
  }
});
