import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMemberProcess } from '../harness/process.js';

// L4 (single member): every acknowledged write survives kill -9 of the process, at the revision
// its acknowledgement named, and the store resumes at a revision no lower than any acknowledged.

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function post(url: string, path: string, body: unknown): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON checked field by field
  const res = await fetch(url + path, { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${path} -> ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

test('L4 acknowledged writes survive SIGKILL under concurrent load', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-kill-'));
  try {
    const first = await startMemberProcess(dataDir);
    const acked = new Map<string, { value: string; revision: number }>();
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const key = `w${w}/${n}`;
        const value = `value-${w}-${n}`;
        try {
          const res = await post(first.url, '/v3/kv/put', { key: b64(key), value: b64(value) });
          acked.set(key, { value, revision: Number(res.header.revision) });
        } catch {
          return; // the member died mid-request: this write was never acknowledged
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    while (acked.size < 400) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    const { signal } = await first.exited;
    stop = true;
    await Promise.all(workers);
    assert.equal(signal, 'SIGKILL');

    const revisions = [...acked.values()].map((a) => a.revision);
    assert.equal(new Set(revisions).size, revisions.length, 'every acknowledged put got its own revision');

    const second = await startMemberProcess(dataDir);
    try {
      const all = await post(second.url, '/v3/kv/range', { key: 'AA==', range_end: 'AA==' });
      const found = new Map<string, { value: string; mod: number }>();
      for (const kv of all.kvs ?? []) {
        found.set(Buffer.from(kv.key, 'base64').toString(), { value: Buffer.from(kv.value, 'base64').toString(), mod: Number(kv.mod_revision) });
      }
      for (const [key, a] of acked) {
        const f = found.get(key);
        assert.ok(f, `acknowledged key ${key} is missing after the crash`);
        assert.equal(f.value, a.value);
        assert.equal(f.mod, a.revision, `${key} kept the revision its acknowledgement named`);
      }
      assert.ok(Number(all.header.revision) >= Math.max(...revisions));
      // The store keeps counting from where it was: the next write gets the next revision.
      const next = await post(second.url, '/v3/kv/put', { key: b64('after'), value: b64('x') });
      assert.equal(Number(next.header.revision), Number(all.header.revision) + 1);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
