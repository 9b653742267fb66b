import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchUpdate } from '../../src/client/index.js';
import { printUpdate } from '../../src/cli/watch-command.js';
import { EventType } from '../../src/wire/index.js';
import { oneMemberCli, until } from '../harness/cli-run.js';

// `keyward watch`: etcdctl's printing, and the real command against a real member: prints each
// event, stops cleanly on SIGINT, and fails like etcdctl on a compacted revision.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const kv = (key: string, value: string, rev: number) => ({ key: enc(key), value: enc(value), createRevision: 2, modRevision: rev, version: 1, lease: 0n });
const header = { clusterId: 1n, memberId: 2n, revision: 9, raftTerm: 3 };

function capture(format: 'simple' | 'json'): { out: { format: 'simple' | 'json'; write(s: string): void }; text: () => string } {
  let buf = '';
  return { out: { format, write: (s) => (buf += s) }, text: () => buf };
}

test('simple output is etcdctl\'s: type, prev key/value (with --prev-kv), key/value; a DELETE prints an empty value', () => {
  const u: WatchUpdate = {
    kind: 'events',
    header,
    revision: 9,
    events: [
      { type: EventType.PUT, kv: kv('a', '2', 8), prevKv: kv('a', '1', 7) },
      { type: EventType.DELETE, kv: { ...kv('b', '', 9), createRevision: 0, version: 0 }, prevKv: undefined },
    ],
  };
  const c = capture('simple');
  printUpdate(c.out, u);
  assert.equal(c.text(), 'PUT\na\n1\na\n2\nDELETE\nb\n\n');
});

test('-w json prints the response as the HTTP/JSON API does (int64 as strings, bytes as base64, PUT type omitted)', () => {
  const c = capture('json');
  printUpdate(c.out, { kind: 'events', header, revision: 8, events: [{ type: EventType.PUT, kv: kv('a', '2', 8), prevKv: undefined }] });
  assert.deepEqual(JSON.parse(c.text()), {
    header: { cluster_id: '1', member_id: '2', revision: '9', raft_term: '3' },
    events: [{ kv: { key: 'YQ==', create_revision: '2', mod_revision: '8', version: '1', value: 'Mg==' } }],
  });
});

const cli = oneMemberCli('watch');
const runWatch = cli.run;

test('keyward watch --prefix --prev-kv --rev N prints every event from N and exits 0 on SIGINT', { timeout: 60_000 }, async () => {
  const next = (await cli.kv().range({ key: enc('x') })).header.revision + 1;
  const w = runWatch(['cli/', '--prefix', '--prev-kv', '--rev', String(next)]);
  await cli.kv().put({ key: enc('cli/a'), value: enc('1') });
  await cli.kv().put({ key: enc('cli/a'), value: enc('2') });
  await cli.kv().put({ key: enc('other'), value: enc('x') });
  await cli.kv().deleteRange({ key: enc('cli/a') });
  const want = 'PUT\ncli/a\n1\nPUT\ncli/a\n1\ncli/a\n2\nDELETE\ncli/a\n2\ncli/a\n\n';
  await until(() => w.stdout() === want, `the events (got ${JSON.stringify(w.stdout())})`);
  w.child.kill('SIGINT');
  assert.equal(await w.exit, 0, w.stderr());
});

test('keyward watch at a compacted revision fails like etcdctl, naming the compaction', { timeout: 60_000 }, async () => {
  const r = (await cli.kv().put({ key: enc('cmp'), value: enc('1') })).header.revision;
  await cli.kv().put({ key: enc('cmp'), value: enc('2') });
  await cli.kv().compact({ revision: r + 1 });
  const w = runWatch(['cmp', '--rev', String(r)]);
  assert.equal(await w.exit, 1);
  assert.match(w.stderr(), /^watch was canceled \(.*compacted up to \d+.*required revision has been compacted\)\nError: watch is canceled by the server\n$/);
  assert.equal(w.stdout(), '');
});

test('keyward watch refuses a bad --rev and a range end with --prefix (exit 2, nothing opened)', async () => {
  const a = runWatch(['k', '--rev', 'x']);
  assert.equal(await a.exit, 2);
  assert.match(a.stderr(), /--rev must be a non-negative integer/);
  const b = runWatch(['k', 'z', '--prefix']);
  assert.equal(await b.exit, 2);
  assert.match(b.stderr(), /range end cannot be given with --prefix/);
});
