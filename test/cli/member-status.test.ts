import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { runKeyward, startMemberProcess } from '../harness/process.js';
import { makeTmpDir } from '../harness/tmpdir.js';

// `keyward endpoint status` and `keyward member` against a real `keyward serve` process.

/** A loopback URL nobody listens on: a port that was just free. */
async function closedEndpoint(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

test('endpoint status: a row per endpoint (simple, table, JSON); a dead endpoint is reported and fails the command', { timeout: 60_000 }, async () => {
  const dir = makeTmpDir('keyward-status-');
  const m = await startMemberProcess(dir.sub('data'));
  try {
    const kw = (args: string[]) => runKeyward(['--endpoints', m.url, ...args]);
    const simple = await kw(['endpoint', 'status']);
    assert.equal(simple.code, 0, simple.stderr);
    assert.equal(simple.stderr, '');
    const row = simple.stdout.replace(/\n$/, '').split(', ');
    // endpoint, ID, version, DB size, is leader, is learner, raft term, raft index, raft applied index, errors
    assert.equal(row.length, 10, simple.stdout);
    assert.equal(row[0], m.url);
    assert.match(row[1]!, /^[0-9a-f]+$/);
    assert.match(row[3]!, /^\d+(\.\d)? [kMG]?B$/);
    assert.equal(row[4], 'true', 'a lone member leads');
    assert.equal(row[5], 'false');
    assert.match(row[6]!, /^[1-9]\d*$/);

    const table = await kw(['-w', 'table', 'endpoint', 'status']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 5);
    assert.match(lines[1]!, /^\|\s+ENDPOINT\s+\|\s+ID\s+\|\s+VERSION\s+\|\s+DB SIZE\s+\|\s+IS LEADER\s+\|\s+IS LEARNER\s+\|\s+RAFT TERM\s+\|\s+RAFT INDEX\s+\|\s+RAFT APPLIED INDEX\s+\|\s+ERRORS\s+\|$/);
    assert.ok(lines[3]!.startsWith(`| ${m.url} | ${row[1]} |`), lines[3]);

    const json = await kw(['-w', 'json', 'endpoint', 'status']);
    const parsed = JSON.parse(json.stdout) as Array<{ Endpoint: string; Status: { header: { member_id: string }; leader: string; raftTerm: string } }>;
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0]!.Endpoint, m.url);
    assert.equal(parsed[0]!.Status.leader, parsed[0]!.Status.header.member_id);
    assert.equal(BigInt(parsed[0]!.Status.leader).toString(16), row[1]);

    const dead = await closedEndpoint();
    const partial = await runKeyward(['--endpoints', `${m.url},${dead}`, 'endpoint', 'status']);
    assert.equal(partial.code, 1);
    assert.ok(partial.stdout.startsWith(m.url + ', '), partial.stdout);
    assert.equal(partial.stdout.split('\n').length, 2);
    assert.match(partial.stderr, new RegExp(`^Failed to get the status of endpoint ${dead} \\(.*ECONNREFUSED.*\\)\nError: 1 of 2 endpoints did not answer\n$`));
  } finally {
    m.child.kill('SIGTERM');
    await m.exited;
    dir.cleanup();
  }
});

test('member commands: usage errors exit 2 before any request; a dead endpoint exits 1 with etcdctl-style Error:', { timeout: 30_000 }, async () => {
  const dead = await closedEndpoint();
  const kw = (args: string[]) => runKeyward(['--endpoints', dead, ...args]);
  const noUrls = await kw(['member', 'add', 'infra4']);
  assert.deepEqual([noUrls.code, noUrls.stderr], [2, 'keyward: member peer urls not provided\n']);
  const badId = await kw(['member', 'remove', 'zz']);
  assert.deepEqual([badId.code, badId.stderr], [2, 'keyward: bad member ID arg "zz", expecting ID in hex\n']);
  const badMove = await kw(['move-leader', '0x1']);
  assert.equal(badMove.code, 2);
  const list = await kw(['member', 'list']);
  assert.equal(list.code, 1);
  assert.match(list.stderr, /^Error: no endpoint answered \/v3\/cluster\/member\/list: http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
});
