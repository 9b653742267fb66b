import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, currentRevision, eventsOf, put, startWatchMember, until, WsWatch, type Json, type WatchMember } from './api-client.js';

// GET /v3/watch with Upgrade: websocket: full duplex, one request object per client message and one
// {"result":…} per server message, against a real member through a real socket.

let m: WatchMember;
const open: WsWatch[] = [];
const ws = async (path?: string): Promise<WsWatch> => {
  const w = new WsWatch(m.url, path);
  open.push(w);
  await w.opened;
  return w;
};
const create = (key: string, o: Json = {}): Json => ({ create_request: { key: b64(key), ...o } });

before(async () => {
  m = await startWatchMember();
});
after(async () => {
  for (const w of open) w.close();
  await m.dispose();
});

describe('WebSocket watch', () => {
  test('create, events, cancel and progress mid-stream: full duplex', async () => {
    const w = await ws();
    w.send(create('ws/a'));
    const created = await w.next();
    assert.equal(created.created, true);
    const [text] = await Promise.all([w.messages.next(5000, 'an event'), put(m.url, 'ws/a', '1')]);
    assert.match(text, /^\{"result":\{"header":\{"cluster_id":"\d+","member_id":"\d+","revision":"\d+","raft_term":"\d+"\},"events":\[/);
    w.send(create('ws/b', { watch_id: 9, prev_kv: true }));
    assert.equal((await w.next()).watch_id, '9');
    await put(m.url, 'ws/b', 'x');
    const rb = await put(m.url, 'ws/b', 'y');
    const b1 = await w.next();
    const b2 = await w.next();
    assert.equal(b1.watch_id, '9');
    assert.deepEqual(eventsOf(b2), [{ type: 'PUT', key: 'ws/b', value: 'y', mod: rb }]);
    assert.equal(Buffer.from(b2.events[0].prev_kv.value, 'base64').toString(), 'x');
    w.send({ cancel_request: { watch_id: 9 } });
    assert.deepEqual([(await w.next()).canceled, w.messages.pending], [true, 0]);
    w.send({ progress_request: {} });
    const p = await w.next();
    assert.equal(p.watch_id, '-1');
    assert.equal(p.header.revision, String(await currentRevision(m.url)));
    await put(m.url, 'ws/b', 'z');
    const ra = await put(m.url, 'ws/a', '2');
    assert.deepEqual(eventsOf(await w.next()), [{ type: 'PUT', key: 'ws/a', value: '2', mod: ra }], 'the canceled watch is silent');
  });

  test('a message holding two objects, and an object split over two messages, both work (etcd joins messages with newlines)', async () => {
    const w = await ws('/v3beta/watch');
    w.send(JSON.stringify(create('wsm/a')) + JSON.stringify(create('wsm/b')));
    assert.deepEqual([(await w.next()).watch_id, (await w.next()).watch_id], [undefined, '1']);
    // Split between tokens: the newline etcd's proxy adds after each message is then whitespace.
    const text = JSON.stringify(create('wsm/c'));
    const cut = text.indexOf(':') + 1;
    w.send(text.slice(0, cut));
    w.send(text.slice(cut));
    assert.equal((await w.next()).watch_id, '2');
  });

  test('a bad first message is answered with etcd\'s error body, then the socket closes (1007)', async () => {
    const w = await ws();
    w.send('{"create_request":{"key":"!!!"}}');
    const text = await w.messages.next(3000, 'the error');
    assert.deepEqual(JSON.parse(text), { error: 'illegal base64 data at input byte 0', message: 'illegal base64 data at input byte 0', code: 2 });
    await until(() => w.closeCode !== undefined, 3000, 'the close');
    assert.equal(w.closeCode, 1007);
  });

  test('an object split inside a string is broken JSON (the joining newline lands in the string): error and close, as etcd closes', async () => {
    const w = await ws();
    w.send('{"create_reques');
    w.send('t":{"key":"YQ=="}}');
    const text = await w.messages.next(3000, 'the error');
    assert.equal(JSON.parse(text).code, 2);
    await until(() => w.closeCode !== undefined, 3000, 'the close');
  });

  test('a bad later message stops the reading of requests; the watches go on', async () => {
    const w = await ws();
    w.send(create('wsl/a'));
    await w.next();
    w.send('{garbage');
    w.send(create('wsl/b'));
    const ra = await put(m.url, 'wsl/a', '1');
    await put(m.url, 'wsl/b', '1');
    assert.deepEqual(eventsOf(await w.next()).map((e) => e.mod), [ra]);
    assert.deepEqual(await w.messages.quiet(150), []);
    assert.equal(w.closeCode, undefined);
  });

  test('an upgrade on another path is refused with 404', async () => {
    const w = new WsWatch(m.url, '/v3/kv/range');
    await assert.rejects(w.opened, /upgrade refused: 404/);
  });

  test('a client that goes away releases its stream; stopping the member closes the socket with 1001', async () => {
    for (const w of open.splice(0)) w.close();
    await until(() => m.server.watchStats().streams === 0, 5000, 'streams released');
    const other = await startWatchMember();
    try {
      const w = new WsWatch(other.url);
      open.push(w);
      await w.opened;
      w.send(create('k'));
      await w.next();
      await other.stop();
      await until(() => w.closeCode !== undefined, 3000, 'the close');
      assert.equal(w.closeCode, 1001);
    } finally {
      await other.dispose();
    }
  });
});
