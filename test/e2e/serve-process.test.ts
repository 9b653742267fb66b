import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKeyward, startMemberProcess } from '../harness/process.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'keyward-proc-'));
}

test('SIGTERM drains, closes storage cleanly and exits 0; data is there on restart', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  try {
    const m = await startMemberProcess(dir);
    const res = await fetch(m.url + '/v3/kv/put', { method: 'POST', body: JSON.stringify({ key: b64('k'), value: b64('v') }) });
    assert.equal(res.status, 200);
    m.child.kill('SIGTERM');
    const { code } = await m.exited;
    assert.equal(code, 0);
    assert.ok(m.logs.some((l) => l.includes('stopped cleanly')));
    const again = await startMemberProcess(dir);
    const got = (await (await fetch(again.url + '/v3/kv/range', { method: 'POST', body: JSON.stringify({ key: b64('k') }) })).json()) as { kvs: Array<{ value: string }> };
    assert.equal(got.kvs[0]!.value, b64('v'));
    again.child.kill('SIGTERM');
    assert.equal((await again.exited).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad flag, a bad value, an unusable data dir and a port in use each fail clearly with a non-zero exit', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  try {
    const unknown = await runKeyward(['serve', '--no-such-flag']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown option '--no-such-flag'/);

    const badValue = await runKeyward(['serve', '--data-dir', join(dir, 'd'), '--max-request-bytes', 'lots']);
    assert.notEqual(badValue.code, 0);
    assert.match(badValue.stderr, /--max-request-bytes .*positive integer/);

    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const badDir = await runKeyward(['serve', '--insecure', '--data-dir', file, '--listen-client-urls', 'http://127.0.0.1:0']);
    assert.notEqual(badDir.code, 0);
    assert.match(badDir.stderr, /a-file/);

    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const inUse = await runKeyward(['serve', '--insecure', '--data-dir', join(dir, 'd2'), '--listen-client-urls', `http://127.0.0.1:${port}`]);
      assert.notEqual(inUse.code, 0);
      assert.match(inUse.stderr, /address already in use/);
    } finally {
      blocker.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI: put, get (prefix, print-value-only, json), txn from stdin, del, endpoint status', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const m = await startMemberProcess(dir);
  const kw = (args: string[], stdin?: string) => runKeyward(['--endpoints', m.url, ...args], stdin);
  try {
    assert.deepEqual(await kw(['put', 'app/a', 'one']), { code: 0, stdout: 'OK\n', stderr: '' });
    await kw(['put', 'app/b', 'two']);
    assert.equal((await kw(['get', 'app/a'])).stdout, 'app/a\none\n');
    assert.equal((await kw(['get', 'app/', '--prefix', '--print-value-only'])).stdout, 'one\ntwo\n');
    const json = JSON.parse((await kw(['-w', 'json', 'get', 'app/', '--prefix', '--limit', '1'])).stdout) as { kvs: unknown[]; more: boolean; count: string };
    assert.equal(json.kvs.length, 1);
    assert.equal(json.more, true);
    assert.equal(json.count, '2');
    const txn = await kw(['txn'], 'value("app/a") = "one"\n\nput app/a uno\nget app/a\n\nput app/a nope\n');
    assert.equal(txn.code, 0, txn.stderr);
    assert.equal(txn.stdout, 'SUCCESS\n\nOK\n\napp/a\nuno\n\n');
    const rev = JSON.parse((await kw(['-w', 'json', 'get', 'app/a'])).stdout).header.revision as string;
    assert.equal((await kw(['get', 'app/a', '--rev', String(Number(rev) - 1), '--print-value-only'])).stdout, 'one\n');
    // etcdctl's rule: an empty key with --from-key means every key (it sends "\0").
    assert.equal((await kw(['get', '', '--from-key', '--keys-only'])).stdout, 'app/a\n\napp/b\n\n');
    assert.equal((await kw(['del', 'app/', '--prefix'])).stdout, '2\n');
    assert.equal((await kw(['get', 'app/', '--prefix'])).stdout, '');
    const status = await kw(['endpoint', 'status']);
    assert.equal(status.code, 0);
    assert.ok(status.stdout.startsWith(m.url + ', '));
    const err = await kw(['get', 'app/a', '--rev', '999999']);
    assert.equal(err.code, 1);
    assert.equal(err.stderr, 'Error: etcdserver: mvcc: required revision is a future revision\n');
    const usage = await kw(['get', 'a', '--prefix', '--from-key']);
    assert.equal(usage.code, 2);
  } finally {
    m.child.kill('SIGTERM');
    await m.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
