import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from '../harness/cluster.js';
import { encodeEntry } from '../../src/server/entry.js';
import type { RaftNode } from '../../src/cluster/index.js';

// A member's published name and client URLs come from a 'publish' entry that the member proposes
// itself. An entry proposed by one member that claims to publish for another is applied as a
// no-op on every member (A16: no member may rewrite another's identity).

test('A16 a publish entry proposed by one member for another changes nothing; its own still applies', async () => {
  const c = await TestCluster.start(3);
  try {
    const leader = await c.leader();
    const evil = c.member(leader).server;
    const victimIndex = (leader + 1) % 3;
    const victim = c.slots[victimIndex]!;
    const names = (): Map<bigint, { name: string; clientUrls: string[] }> =>
      new Map(evil.memberList().members.map((m) => [m.id, { name: m.name, clientUrls: m.clientUrls }]));
    // Wait until every member has published itself.
    for (let i = 0; i < 200 && [...names().values()].some((m) => m.name === ''); i++) await new Promise((r) => setTimeout(r, 25));
    const before = names().get(victim.id)!;
    assert.equal(before.name, victim.name);

    // The test reaches the member's raft node directly: no API lets a client propose this entry.
    const node = (evil as unknown as { node: RaftNode }).node;
    const forged = (seq: bigint, id: bigint, name: string): Uint8Array =>
      encodeEntry({ member: c.slots[leader]!.id, seq }, { kind: 'publish', publish: { id, name, clientUrls: ['http://127.0.0.1:1'] } }, undefined);
    node.propose(forged(1n << 60n, victim.id, 'evil'));
    // Then a write, so that once it is applied everywhere the forged entry is too.
    const res = await fetch(`${c.member(leader).url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: 'YQ==', value: 'Yg==' }) });
    assert.equal(res.status, 200);
    const rev = Number(((await res.json()) as { header: { revision: string } }).header.revision);
    for (let i = 0; i < 3; i++) {
      const s = c.member(i).server;
      for (let k = 0; k < 200 && s.appliedIndex < evil.appliedIndex; k++) await new Promise((r) => setTimeout(r, 10));
      const m = s.memberList().members.find((x) => x.id === victim.id)!;
      assert.equal(m.name, victim.name, `member ${i} kept the victim's name`);
      assert.deepEqual(m.clientUrls, before.clientUrls);
    }
    assert.ok(rev > 0);

    // The same entry for the proposer itself is applied.
    node.propose(forged((1n << 60n) + 1n, c.slots[leader]!.id, 'renamed'));
    for (let k = 0; k < 200 && names().get(c.slots[leader]!.id)!.name !== 'renamed'; k++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(names().get(c.slots[leader]!.id)!.name, 'renamed');
  } finally {
    await c.dispose();
  }
});
