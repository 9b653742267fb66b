import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDurationMs, resolveServeConfig } from '../../src/cli/config.js';
import { startMemberProcess } from '../harness/process.js';
import { b64, PostWatch } from '../watch/api-client.js';

// --experimental-watch-progress-notify-interval: etcd's flag and Go duration syntax, from the
// command line, the environment and the config file, down to the member's progress notifications.

test('Go durations: units, fractions, sequences; malformed text is undefined', () => {
  const cases: Array<[string, number | undefined]> = [
    ['10m', 600_000], ['1s', 1000], ['500ms', 500], ['1h30m', 5_400_000], ['1.5s', 1500], ['.5s', 500],
    ['100us', 1], ['0', 0], ['-1s', -1000], ['5', undefined], ['1x', undefined], ['', undefined], ['1e3s', undefined], ['s', undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
});

test('the flag defaults to 10 minutes and is read from flags, environment and config file', () => {
  assert.equal(resolveServeConfig({}, {}).experimentalWatchProgressNotifyInterval, 600_000);
  assert.equal(resolveServeConfig({ 'experimental-watch-progress-notify-interval': '1s' }, {}).experimentalWatchProgressNotifyInterval, 1000);
  assert.equal(resolveServeConfig({}, { KEYWARD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: '250ms' }).experimentalWatchProgressNotifyInterval, 250);
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cfg-'));
  try {
    const file = join(dir, 'k.yaml');
    writeFileSync(file, 'experimental-watch-progress-notify-interval: 2m\n');
    assert.equal(resolveServeConfig({}, {}, file).experimentalWatchProgressNotifyInterval, 120_000);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a bad or non-positive interval is a clear error naming the flag', () => {
  // Below a millisecond rounds up to one: a positive duration stays positive.
  assert.equal(resolveServeConfig({ 'experimental-watch-progress-notify-interval': '0.1ms' }, {}).experimentalWatchProgressNotifyInterval, 1);
  for (const bad of ['10', '0', '-1s', 'soon']) {
    assert.throws(
      () => resolveServeConfig({ 'experimental-watch-progress-notify-interval': bad }, {}),
      /--experimental-watch-progress-notify-interval \(from command line\): expected a positive duration/,
      bad,
    );
  }
});

test('keyward serve passes the interval to its watches, and SIGTERM exits 0 with a watch stream open', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-proc-'));
  try {
    const m = await startMemberProcess(dir, ['--experimental-watch-progress-notify-interval', '200ms']);
    const w = new PostWatch(m.url);
    w.send({ create_request: { key: b64('k'), progress_notify: true } });
    assert.equal((await w.next()).created, true);
    const started = Date.now();
    const p = await w.next(3000, 'a progress notification');
    assert.equal(p.events, undefined);
    assert.ok(Date.now() - started < 2000, 'well before the 10-minute default');
    m.child.kill('SIGTERM');
    assert.equal((await m.exited).code, 0);
    await assert.rejects(w.lines.next(2000, 'the end'), /ended/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
