// Automatic compaction on a real member with auth on (src/server/compactor.ts decides; the leader
// proposes the compaction as the member itself, no user): revision mode keeps the last N
// revisions, periodic mode the last window of time; reads below the compaction answer
// "compacted", reads above it are unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeywardServer, type RequestAuth } from '../../src/server/index.js';
import { putRequest, rangeRequest } from '../../src/client/index.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import type { AutoCompactionConfig } from '../../src/server/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const ROOT: RequestAuth = { principal: { user: 'root' } };

async function withMember(autoCompaction: AutoCompactionConfig, fn: (s: KeywardServer) => Promise<void>): Promise<void> {
  const dir = makeTmpDir('keyward-autocompact-');
  const s = await KeywardServer.open({
    name: 'm',
    dataDir: dir.sub('m'),
    advertisePeerUrls: ['http://127.0.0.1:2380'],
    clusterToken: 'autocompact',
    maxRequestBytes: 1572864,
    maxTxnOps: 128,
    heartbeatIntervalMs: 20,
    electionTimeoutMs: 200,
    authBootstrap: true,
    autoCompaction,
    autoCompactionTickMs: 40,
  });
  try {
    await s.ready();
    await fn(s);
  } finally {
    await s.close();
    dir.cleanup();
  }
}

async function compactedBelow(s: KeywardServer, revision: number): Promise<boolean> {
  try {
    await s.range(rangeRequest({ key: enc('k'), revision }), ROOT);
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'COMPACTED';
  }
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('revision mode: the leader compacts at current - N on its own, with auth on; newer reads are unchanged', async () => {
  await withMember({ mode: 'revision', retention: 5 }, async (s) => {
    let rev = 0;
    for (let i = 0; i < 20; i++) rev = (await s.put(putRequest({ key: enc('k'), value: enc(`v${i}`) }), ROOT)).header.revision;
    await waitFor(`compaction at ${rev - 5}`, () => compactedBelow(s, rev - 6));
    // The kept window still answers exactly.
    const at = await s.range(rangeRequest({ key: enc('k'), revision: rev - 5 }), ROOT);
    assert.equal(new TextDecoder().decode(at.kvs[0]!.value), 'v14');
    const now = await s.range(rangeRequest({ key: enc('k') }), ROOT);
    assert.equal(new TextDecoder().decode(now.kvs[0]!.value), 'v19');
    assert.equal(now.kvs[0]!.version, 20);
  });
});

test('periodic mode: history older than the window goes, the window stays', async () => {
  await withMember({ mode: 'periodic', retention: 400 }, async (s) => {
    const first = (await s.put(putRequest({ key: enc('k'), value: enc('old') }), ROOT)).header.revision;
    await new Promise((r) => setTimeout(r, 600));
    const recent = (await s.put(putRequest({ key: enc('k'), value: enc('new') }), ROOT)).header.revision;
    await waitFor(`compaction past ${first}`, () => compactedBelow(s, first));
    // Written after the sample the compaction used: still readable at its revision.
    const at = await s.range(rangeRequest({ key: enc('k'), revision: recent }), ROOT);
    assert.equal(new TextDecoder().decode(at.kvs[0]!.value), 'new');
  });
});
