import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { b64, compact, put, startWatchMember, until, type Json, type WatchMember } from './api-client.js';

// GUARANTEES W11 through a real socket: a client that stops reading its POST /v3/watch stream. The
// member may hold at most the stream's buffer bound for it (the socket takes one message beyond,
// then the pump waits for 'drain'); its watcher falls back to catch-up from history, so when the
// client reads again it gets every event, in order, none twice, or an explicit compacted cancel
// once the history it needs is gone. Never a silent gap.

const BOUND = 64 * 1024;
const VALUE = 'v'.repeat(40 * 1024);

let m: WatchMember;
before(async () => {
  m = await startWatchMember({ watchStreamBufferBytes: BOUND });
});
after(async () => {
  await m.dispose();
});

/** A watch stream on a raw socket, so the test decides when bytes are read. */
class RawWatch {
  readonly socket: Socket;
  private text = '';
  private readonly results: Json[] = [];
  private wake: (() => void) | undefined;

  constructor(url: string, create: Json) {
    const u = new URL(url);
    this.socket = connect(Number(u.port), u.hostname);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.text += d;
      // Chunk framing aside, every response is one line starting with {"result".
      let i: number;
      while ((i = this.text.indexOf('\n')) >= 0) {
        const line = this.text.slice(0, i);
        this.text = this.text.slice(i + 1);
        if (line.startsWith('{"result"')) this.results.push((JSON.parse(line) as Json)['result'] as Json);
      }
      this.wake?.();
    });
    const body = JSON.stringify({ create_request: create }) + '\n';
    this.socket.write(`POST /v3/watch HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n`);
  }

  async next(ms = 10_000): Promise<Json> {
    const deadline = Date.now() + ms;
    while (this.results.length === 0) {
      if (Date.now() > deadline) throw new Error('timed out waiting for a watch response');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    return this.results.shift()!;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Writes big values until the hub has turned the paused watcher away (it is unsynced). */
async function fillUntilStarved(prefix: string): Promise<{ revisions: number[]; maxBuffered: number }> {
  assert.equal(m.server.watchStats().streams, 1, 'only the paused stream is open');
  const revisions: number[] = [];
  let maxBuffered = 0;
  for (let i = 0; i < 600 && m.server.watchStats().unsynced === 0; i++) {
    revisions.push(await put(m.url, `${prefix}${i % 7}`, VALUE));
    maxBuffered = Math.max(maxBuffered, m.server.watchStats().bufferedBytes);
  }
  assert.equal(m.server.watchStats().unsynced, 1, 'the paused watcher fell back to catch-up');
  return { revisions, maxBuffered };
}

test('W11: a client that stops reading costs at most the stream bound; when it reads again it gets every event, in order, once', { timeout: 120_000 }, async (t) => {
  const w = new RawWatch(m.url, { key: b64('slow/'), range_end: b64('slow0'), prev_kv: true });
  t.after(() => w.close());
  assert.equal((await w.next()).created, true);
  w.socket.pause();
  const filled = await fillUntilStarved('slow/');
  const revisions = filled.revisions;
  let maxBuffered = filled.maxBuffered;
  // More writes while it is unsynced: the hub holds nothing for them but the watcher's next revision.
  for (let i = 0; i < 20; i++) {
    revisions.push(await put(m.url, `slow/${i % 7}`, VALUE));
    maxBuffered = Math.max(maxBuffered, m.server.watchStats().bufferedBytes);
  }
  // One message (two 40 KiB values in base64) may cross the bound; nothing more.
  assert.ok(maxBuffered <= BOUND + 2 * 60 * 1024, `buffered ${maxBuffered} bytes for a paused client`);
  assert.ok(revisions.length * VALUE.length > 4 * BOUND, 'far more was written than the bound');

  w.socket.resume();
  const seen: number[] = [];
  while (seen.length < revisions.length) {
    const r = await w.next();
    assert.equal(r.canceled, undefined, 'no compaction ran, so nothing may be canceled');
    for (const e of r.events as Json[]) {
      seen.push(Number(e.kv.mod_revision));
      assert.equal(e.kv.value.length, 4 * Math.ceil(VALUE.length / 3));
    }
  }
  assert.deepEqual(seen, revisions, 'W4: every revision exactly once, in order');
  await until(() => m.server.watchStats().unsynced === 0, 10_000, 'the watcher back in sync');
  const live = await put(m.url, 'slow/live', 'x');
  assert.equal(Number((await w.next()).events[0].kv.mod_revision), live);
  w.close();
  await until(() => m.server.watchStats().streams === 0, 5000, 'the stream released');
});

test('W11: if the history a paused client needs is compacted meanwhile, it gets the events up to the gap, then an explicit compacted cancel', { timeout: 120_000 }, async (t) => {
  await until(() => m.server.watchStats().streams === 0, 5000, 'the previous stream released');
  const w = new RawWatch(m.url, { key: b64('cslow/'), range_end: b64('cslow0') });
  t.after(() => w.close());
  assert.equal((await w.next()).created, true);
  w.socket.pause();
  const { revisions } = await fillUntilStarved('cslow/');
  const last = await put(m.url, 'cslow/x', 'y');
  revisions.push(last);
  await compact(m.url, last);
  w.socket.resume();
  const seen: number[] = [];
  let canceled: Json | undefined;
  while (canceled === undefined) {
    const r = await w.next();
    if (r.canceled === true) canceled = r;
    else seen.push(...(r.events as Json[]).map((e) => Number(e.kv.mod_revision)));
  }
  assert.equal(canceled.compact_revision, String(last));
  assert.deepEqual(seen, revisions.slice(0, seen.length), 'what arrived is a gap-free prefix of the writes');
  assert.ok(seen.length < revisions.length, 'the compaction cut it short');
  w.close();
});

test('stopping a member is not held up by clients that stopped reading (POST and WebSocket)', { timeout: 60_000 }, async (t) => {
  const other = await startWatchMember({ watchStreamBufferBytes: BOUND, listen: { closeGraceMs: 300 } });
  t.after(() => other.dispose());
  const w = new RawWatch(other.url, { key: b64('p/'), range_end: b64('p0') });
  t.after(() => w.close());
  assert.equal((await w.next()).created, true);
  w.socket.pause();
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(other.url.replace('http', 'ws') + '/v3/watch');
  t.after(() => ws.terminate());
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ create_request: { key: b64('p/'), range_end: b64('p0') } }));
  await new Promise((r) => ws.once('message', r));
  // Pause the WebSocket's socket too: neither client reads again.
  ws.pause();
  for (let i = 0; i < 200 && other.server.watchStats().unsynced < 2; i++) await put(other.url, `p/${i % 5}`, VALUE);
  assert.equal(other.server.watchStats().unsynced, 2, 'both clients are stuck');
  const started = Date.now();
  await other.stop();
  assert.ok(Date.now() - started < 10_000, `stop took ${Date.now() - started} ms`);
});
