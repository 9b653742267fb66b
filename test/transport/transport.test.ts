import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Message } from '../../src/raft/index.js';
import { decodeMessage, encodeMessage, Transport } from '../../src/transport/index.js';
import { encodeFrame } from '../../src/transport/codec.js';
import { crc32, FrameReader } from '../../src/transport/frames.js';
import { app, Events, fixtures, member, pair } from './helpers.js';
import type { Member } from './helpers.js';

const CLUSTER = 0xc105n;
/** A peer URL nothing listens on (port 1 refuses at once on loopback). */
const DEAD_URL = 'http://127.0.0.1:1';

async function closeAll(...ms: Member[]): Promise<void> {
  await Promise.all(ms.map((m) => m.t.close()));
}

function headers(over: Partial<Record<'cluster' | 'from' | 'to' | 'protocol', string>> = {}): Record<string, string> {
  return {
    'x-keyward-protocol': over.protocol ?? '1',
    'x-keyward-cluster-id': over.cluster ?? CLUSTER.toString(16),
    'x-keyward-from': over.from ?? '1',
    'x-keyward-to': over.to ?? '2',
  };
}

interface RawAnswer {
  status: number;
  code: string | undefined;
  body: string;
}

/**
 * A hand-made peer request: sends the headers, and once the receiver accepted (200) or right
 * away for a body with Content-Length, writes `chunks`; resolves with whatever the receiver answered
 * when it ends or cuts the connection.
 */
function raw(url: string, path: string, hdrs: Record<string, string>, chunks: Uint8Array[], opts: { waitForAccept?: boolean; method?: string; endAfter?: boolean } = {}): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: u.hostname, port: Number(u.port), method: opts.method ?? 'POST', path, headers: hdrs, agent: false });
    let settled = false;
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      const done = (): void => {
        if (settled) return;
        settled = true;
        const code = res.headers['x-keyward-error'];
        resolve({ status: res.statusCode ?? 0, code: Array.isArray(code) ? code[0] : code, body });
      };
      res.on('end', done);
      res.on('close', done);
      if (opts.waitForAccept !== false && res.statusCode === 200) {
        for (const c of chunks) req.write(c);
        if (opts.endAfter === true) req.end();
      }
    });
    req.on('error', (e) => {
      // The receiver cuts the connection right after answering; only an error before any answer counts.
      if (!settled) setImmediate(() => !settled && reject(e));
    });
    if (opts.waitForAccept === false) {
      for (const c of chunks) req.write(c);
      req.end();
    } else req.flushHeaders();
  });
}

function listen(srv: http.Server | net.Server): Promise<number> {
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port)));
}

test('every message type crosses from one member to the other unchanged', async () => {
  const [a, b] = await pair();
  try {
    const sent = fixtures(1n, 2n);
    a.t.send(sent);
    const got = await b.inbox.count(sent.length);
    const byType = new Map(got.map((m) => [m.type, m]));
    for (const m of sent) assert.deepEqual(byType.get(m.type), m, m.type);
    assert.deepEqual(await a.snaps.next(), [2n, true]);

    const back = fixtures(2n, 1n).filter((m) => m.type !== 'snap');
    b.t.send(back);
    assert.deepEqual(await a.inbox.count(back.length), back);
    assert.ok(a.t.isActive(2n) && b.t.isActive(1n));
  } finally {
    await closeAll(a, b);
  }
});

test('messages to one peer arrive in the order they were sent, across many send() calls', async () => {
  const [a, b] = await pair();
  try {
    a.t.send([{ type: 'heartbeat', from: 1n, to: 2n, term: 1, commit: 0, context: null }]);
    await b.inbox.next();
    b.inbox.all.length = 0;
    // 4000 messages in one turn: just under the default 4096-message queue bound.
    const n = 4000;
    for (let i = 0; i < n; i += 50) a.t.send(Array.from({ length: 50 }, (_, k) => app(1n, 2n, i + k, 1 + ((i + k) % 300))));
    const got = await b.inbox.count(n);
    assert.deepEqual(
      got.map((m) => (m.type === 'app' ? m.index : -1)),
      Array.from({ length: n }, (_, i) => i),
    );
    assert.equal(a.unreachable.all.length, 0);
    // And a second burst after the first drained, on the same connection.
    b.inbox.all.length = 0;
    a.t.send(Array.from({ length: 100 }, (_, i) => app(1n, 2n, n + i)));
    assert.deepEqual(
      (await b.inbox.count(100)).map((m) => (m.type === 'app' ? m.index : -1)),
      Array.from({ length: 100 }, (_, i) => n + i),
    );
  } finally {
    await closeAll(a, b);
  }
});

test('a large snapshot streams in chunks and reports success', async () => {
  const [a, b] = await pair({ snapshotChunkBytes: 64 * 1024 }, {});
  try {
    const data = new Uint8Array(8 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
    const m: Message = { type: 'snap', from: 1n, to: 2n, term: 4, snapshot: { data, metadata: { index: 1000, term: 4, confState: { voters: [1n, 2n, 3n], learners: [] } } } };
    a.t.send([m, app(1n, 2n, 1)]);
    const got = await b.inbox.next((x) => x.type === 'snap');
    assert.deepEqual(got, m);
    assert.deepEqual(await a.snaps.next(), [2n, true]);
    assert.equal(a.unreachable.all.length, 0);
  } finally {
    await closeAll(a, b);
  }
});

test('a snapshot to a peer that is down reports failure and unreachable', async () => {
  const a = await member(1n);
  const dead = net.createServer();
  const port = await listen(dead);
  await new Promise<void>((r) => dead.close(() => r()));
  try {
    a.t.addPeer(2n, [`http://127.0.0.1:${port}`]);
    const m = fixtures(1n, 2n).find((x) => x.type === 'snap')!;
    a.t.send([m]);
    assert.deepEqual(await a.snaps.next(), [2n, false]);
    assert.equal(await a.unreachable.next(), 2n);
  } finally {
    await a.t.close();
  }
});

test('a request with another cluster ID is refused with 412 and reaches nobody', async () => {
  const [a, b] = await pair();
  const c = await member(3n, { clusterId: 0xbadn });
  try {
    const ans = await raw(b.t.listenUrl, '/raft/stream', headers({ cluster: 'bad' }), [encodeFrame(app(1n, 2n, 1))]);
    assert.equal(ans.status, 412);
    assert.equal(ans.code, 'ClusterMismatch');

    // A whole member of another cluster: its sender learns it cannot reach B.
    b.t.addPeer(3n, [c.t.listenUrl]);
    c.t.addPeer(2n, [b.t.listenUrl]);
    c.t.send([app(3n, 2n, 1)]);
    assert.equal(await c.unreachable.next(), 2n);
    await b.logs.next((l) => l.obj['code'] === 'ClusterMismatch' && l.obj['from'] === '3');
    assert.equal(b.inbox.all.length, 0);
  } finally {
    await closeAll(a, b, c);
  }
});

test('a sender that is not a peer is refused with 403; a peer after removePeer with 410, and it is told it was removed', async () => {
  let removedCalls = 0;
  const [a, b] = await pair({ onRemovedFromCluster: () => removedCalls++ }, { isRemovedMember: (id) => id === 0x99n });
  try {
    const ans = await raw(b.t.listenUrl, '/raft/stream', headers({ from: '63' }), []);
    assert.deepEqual([ans.status, ans.code], [403, 'UnknownSender']);
    // The owner's removed set (the server's members table) is asked too, e.g. after a restart.
    const gone = await raw(b.t.listenUrl, '/raft/stream', headers({ from: '99' }), []);
    assert.deepEqual([gone.status, gone.code], [410, 'MemberRemoved']);

    a.t.send([app(1n, 2n, 1)]);
    await b.inbox.next();
    assert.equal(removedCalls, 0);
    b.t.removePeer(1n);
    // B cuts A's open stream; A reconnects, is refused, reports B unreachable and learns it was removed.
    a.t.send([app(1n, 2n, 2)]);
    await a.unreachable.next((id) => id === 2n);
    await a.logs.next((l) => typeof l.obj['reason'] === 'string' && l.obj['reason'].includes('MemberRemoved'));
    assert.equal(b.inbox.all.length, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(removedCalls, 1, 'told once, however often it is refused');
    // Added again (a re-join), it is a peer like any other.
    b.t.addPeer(1n, [a.t.listenUrl]);
    // Sent again until it arrives, as raft would: a connection attempt already on its way when B
    // took A back is refused, and the transport drops what was queued behind it (by design).
    const arrived = b.inbox.next((m) => m.type === 'app' && m.index === 3);
    a.t.send([app(1n, 2n, 3)]);
    const resend = setInterval(() => a.t.send([app(1n, 2n, 3)]), 50);
    try {
      await arrived;
    } finally {
      clearInterval(resend);
    }
  } finally {
    await closeAll(a, b);
  }
});

test('requests with bad headers, paths or methods get their own status codes', async () => {
  const [a, b] = await pair();
  try {
    const url = b.t.listenUrl;
    const cases: [string, Record<string, string>, number, string, string?][] = [
      ['/raft/stream', headers({ protocol: '2' }), 412, 'UnsupportedVersion'],
      ['/raft/stream', headers({ to: '7' }), 421, 'WrongRecipient'],
      // D12: a member whose messages come back to itself (another member's URL reaches it).
      ['/raft/stream', headers({ from: '2', to: '7' }), 508, 'SelfReference'],
      ['/raft/stream', headers({ from: 'zz' }), 400, 'BadRequest'],
      ['/raft/stream', headers({ from: '0' }), 400, 'BadRequest'],
      ['/raft/nope', headers(), 404, 'NotFound'],
      ['/raft/stream', headers(), 405, 'MethodNotAllowed', 'GET'],
    ];
    for (const [path, h, status, code, method] of cases) {
      const ans = await raw(url, path, h, [], { waitForAccept: false, ...(method === undefined ? {} : { method }) });
      assert.deepEqual([ans.status, ans.code], [status, code], `${path} ${JSON.stringify(h)}`);
    }
  } finally {
    await closeAll(a, b);
  }
});

test('an oversized frame is refused without hurting the receiver', async () => {
  const [a, b] = await pair({ maxMessageBytes: 1024 }, { maxMessageBytes: 1024 });
  // Raw streams come from a third member, so they never replace A's stream (one per sender).
  b.t.addPeer(3n, [DEAD_URL]);
  try {
    const header = Uint8Array.from([0x7f, 0xff, 0xff, 0xff]); // claims 2 GiB
    const ans = await raw(b.t.listenUrl, '/raft/stream', headers({ from: '3' }), [header]);
    assert.equal(ans.status, 200); // accepted, then cut with a reason
    assert.match(ans.body, /^transport: TooLarge: /);

    const big = encodeFrame(app(3n, 2n, 1, 2000));
    const ans2 = await raw(b.t.listenUrl, '/raft/stream', headers({ from: '3' }), [big]);
    assert.match(ans2.body, /^transport: TooLarge: /);

    // B still serves A; A itself refuses to send what B would cut.
    a.t.send([app(1n, 2n, 2, 2000), app(1n, 2n, 3, 10)]);
    const got = await b.inbox.next();
    assert.equal(got.type === 'app' && got.index, 3);
  } finally {
    await closeAll(a, b);
  }
});

test('garbage bodies are refused: stream frames, snapshot bodies, checksums and sizes', async () => {
  const [a, b] = await pair({}, { maxSnapshotBytes: 1 << 20 });
  try {
    const url = b.t.listenUrl;
    b.t.addPeer(3n, [DEAD_URL]);
    const h3 = headers({ from: '3' });
    const garbage = Uint8Array.from([0, 0, 0, 5, 9, 9, 9, 9, 9]);
    assert.match((await raw(url, '/raft/stream', h3, [garbage])).body, /^transport: UnsupportedVersion: /);
    const badType = Uint8Array.from([0, 0, 0, 3, 1, 99, 0]);
    assert.match((await raw(url, '/raft/stream', h3, [badType])).body, /^transport: Malformed: /);
    // A valid message on member 3's stream claiming to come from member 1.
    assert.match((await raw(url, '/raft/stream', h3, [encodeFrame(app(1n, 2n, 1))])).body, /^transport: SenderMismatch: /);
    assert.match((await raw(url, '/raft/stream', h3, [encodeFrame(app(3n, 5n, 1))])).body, /^transport: WrongRecipient: /);
    // A stream that ends in the middle of a frame.
    assert.match((await raw(url, '/raft/stream', h3, [encodeFrame(app(3n, 2n, 1)).subarray(0, 10)], { endAfter: true })).body, /^transport: Truncated: /);

    const snap = fixtures(1n, 2n).find((x) => x.type === 'snap')!;
    const body = encodeMessage(snap);
    const withCrc = (bytes: Uint8Array, crc: number): Uint8Array => {
      const out = new Uint8Array(bytes.length + 4);
      out.set(bytes);
      new DataView(out.buffer).setUint32(bytes.length, crc);
      return out;
    };
    const post = (b2: Uint8Array, extra: Record<string, string> = {}): Promise<RawAnswer> =>
      raw(url, '/raft/snapshot', { ...headers(), 'content-length': String(b2.length), ...extra }, [b2], { waitForAccept: false });

    assert.deepEqual(pick(await post(withCrc(body, crc32(body) ^ 1))), [400, 'ChecksumMismatch']);
    const trash = Uint8Array.from([1, 99, 3, 4, 5, 6]);
    assert.deepEqual(pick(await post(withCrc(trash, crc32(trash)))), [400, 'Malformed']);
    const notSnap = encodeMessage(app(1n, 2n, 1));
    assert.deepEqual(pick(await post(withCrc(notSnap, crc32(notSnap)))), [400, 'BadRequest']);
    // Refused on the declared length alone, before the body is read.
    const huge = await raw(url, '/raft/snapshot', { ...headers(), 'content-length': String(1 << 30) }, [], { waitForAccept: false });
    assert.deepEqual(pick(huge), [413, 'TooLarge']);

    assert.equal(b.inbox.all.length, 0);
    assert.deepEqual(pick(await post(withCrc(body, crc32(body)))), [204, undefined]);
    assert.deepEqual(await b.inbox.next(), snap);
  } finally {
    await closeAll(a, b);
  }
});

function pick(a: RawAnswer): [number, string | undefined] {
  return [a.status, a.code];
}

test('a peer that goes down is reported unreachable, and gets messages again once it is back', async () => {
  const [a, b] = await pair();
  let b2: Member | undefined;
  try {
    a.t.send([app(1n, 2n, 1)]);
    await b.inbox.next();
    const url = b.t.listenUrl;
    await b.t.close();
    await a.unreachable.next((id) => id === 2n);
    assert.equal(a.t.isActive(2n), false);

    b2 = await member(2n, { listenUrls: [url] });
    b2.t.addPeer(1n, [a.t.listenUrl]);
    // Each failed attempt drops what was queued and reports; resend until one lands.
    const stop = a.unreachable.on(
      (id) => id === 2n,
      () => a.t.send([app(1n, 2n, 2)]),
    );
    a.t.send([app(1n, 2n, 2)]);
    const got = await b2.inbox.next();
    stop();
    assert.equal(got.type === 'app' && got.index, 2);
    assert.ok(a.t.isActive(2n));
  } finally {
    await closeAll(a, b, ...(b2 ? [b2] : []));
  }
});

test('a full queue drops without blocking, reports once, and still sends what it kept', async () => {
  // A receiver that holds its answer: the sender stays in "connecting" and queues.
  const accepted = new Events<http.ServerResponse>();
  const frames = new Events<Message>();
  const srv = http.createServer((req, res) => {
    const r = new FrameReader(1 << 20);
    req.on('data', (c: Buffer) => {
      for (const p of r.push(c)) frames.push(decodeMessage(p));
    });
    req.on('end', () => res.end());
    accepted.push(res);
  });
  const port = await listen(srv);
  const a = await member(1n, { maxQueueMessages: 10, dialTimeoutMs: 60_000 });
  try {
    a.t.addPeer(2n, [`http://127.0.0.1:${port}`]);
    const res = await accepted.next();
    a.t.send(Array.from({ length: 1000 }, (_, i) => app(1n, 2n, i)));
    assert.equal(await a.unreachable.next(), 2n);
    assert.equal(a.unreachable.all.length, 1, 'drops in one turn are reported once');
    res.writeHead(200);
    res.flushHeaders();
    const got = await frames.count(10);
    assert.deepEqual(
      got.map((m) => (m.type === 'app' ? m.index : -1)),
      Array.from({ length: 10 }, (_, i) => i),
    );
  } finally {
    await a.t.close();
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('close() is idempotent, silences callbacks, and works before start()', async () => {
  const [a, b] = await pair();
  a.t.send([app(1n, 2n, 1)]);
  await b.inbox.next();
  const p1 = a.t.close();
  const p2 = a.t.close();
  assert.equal(p1, p2);
  await p1;
  await a.t.close();
  a.t.send([app(1n, 2n, 2)]); // no throw, no effect
  a.t.addPeer(3n, ['http://127.0.0.1:1']);
  assert.equal(a.t.hasPeer(3n), false);
  await b.t.close();
  await assert.rejects(a.t.start(), TypeError);

  const idle = new Transport({
    selfId: 9n,
    clusterId: 1n,
    listenUrls: ['http://127.0.0.1:0'],
    onMessage: () => assert.fail('no message expected'),
    onUnreachable: () => assert.fail('no report expected'),
    onSnapshotStatus: () => assert.fail('no report expected'),
  });
  await idle.close();
  await idle.close();
});

test('close() drains what is queued to an open stream', async () => {
  const [a, b] = await pair();
  try {
    a.t.send([app(1n, 2n, 0)]);
    await b.inbox.next();
    a.t.send(Array.from({ length: 200 }, (_, i) => app(1n, 2n, i + 1)));
    await a.t.close();
    const got = await b.inbox.count(201);
    assert.equal(got.length, 201);
  } finally {
    await closeAll(a, b);
  }
});

test('updatePeer moves the stream to the new URL', async () => {
  const [a, b] = await pair();
  const b2 = await member(2n);
  b2.t.addPeer(1n, [a.t.listenUrl]);
  try {
    a.t.send([app(1n, 2n, 1)]);
    await b.inbox.next();
    a.t.updatePeer(2n, [b2.t.listenUrl]);
    a.t.send([app(1n, 2n, 2)]);
    const got = await b2.inbox.next();
    assert.equal(got.type === 'app' && got.index, 2);
  } finally {
    await closeAll(a, b, b2);
  }
});

test('send() never throws: unknown peers, self, and malformed messages are logged and dropped', async () => {
  const [a, b] = await pair();
  try {
    const bad = { ...app(1n, 2n, 1), term: -5 } as Message;
    a.t.send([app(1n, 7n, 1), app(1n, 1n, 1), bad, app(1n, 2n, 2)]);
    const got = await b.inbox.next();
    assert.equal(got.type === 'app' && got.index, 2);
    await a.logs.next((l) => l.level === 'error' && l.msg === 'cannot send message');
  } finally {
    await closeAll(a, b);
  }
});

test('a throwing onMessage does not cut the stream', async () => {
  let calls = 0;
  const delivered = new Events<Message>();
  const [a, b] = await pair();
  const c = new Transport({
    selfId: 3n,
    clusterId: CLUSTER,
    listenUrls: ['http://127.0.0.1:0'],
    peers: [[1n, [a.t.listenUrl]]],
    onMessage: (m) => {
      if (++calls === 1) throw new Error('driver bug');
      delivered.push(m);
    },
    onUnreachable: () => {},
    onSnapshotStatus: () => {},
  });
  await c.start();
  a.t.addPeer(3n, [c.listenUrl]);
  try {
    a.t.send([app(1n, 3n, 1), app(1n, 3n, 2)]);
    const got = await delivered.next();
    assert.equal(got.type === 'app' && got.index, 2);
  } finally {
    await Promise.all([a.t.close(), b.t.close(), c.close()]);
  }
});

test('misconfiguration is a TypeError at construction', () => {
  const base = { selfId: 1n, clusterId: 1n, listenUrls: ['http://127.0.0.1:0'], onMessage() {}, onUnreachable() {}, onSnapshotStatus() {} };
  assert.throws(() => new Transport({ ...base, peers: [[1n, ['http://127.0.0.1:1']]] }), /own peer/);
  assert.throws(() => new Transport({ ...base, listenUrls: ['https://127.0.0.1:0'] }), /no tls options/);
  assert.throws(() => new Transport({ ...base, listenUrls: ['ftp://x'] }), TypeError);
  assert.throws(() => new Transport({ ...base, listenUrls: ['http://127.0.0.1:0/raft'] }), TypeError);
  assert.throws(() => new Transport({ ...base, selfId: 0n }), TypeError);
  assert.throws(() => new Transport({ ...base, maxMessageBytes: 0 }), TypeError);
  assert.throws(() => new Transport({ ...base, keepAliveMs: 1000, idleTimeoutMs: 1500 }), TypeError);
});

test('GUARANTEES D9: a connection that drips its headers is closed by headersTimeout', { timeout: 10_000 }, async () => {
  const b = await member(2n, { headersTimeoutMs: 200 });
  try {
    const port = Number(new URL(b.t.listenUrl).port);
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('POST /raft/stream HTTP/1.1\r\nHost: x\r\n');
    const answer = await new Promise<string>((resolve) => {
      let s = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => (s += d));
      sock.on('close', () => resolve(s));
    });
    assert.equal(answer, '', 'cut without an answer');
  } finally {
    await b.t.close();
  }
});

test('the receiver drops a stream that goes silent', async () => {
  const [a, b] = await pair({}, { keepAliveMs: 20, idleTimeoutMs: 60 });
  try {
    // From a third, known member, so A's own (kept-alive) stream is not the one replaced.
    b.t.addPeer(3n, [DEAD_URL]);
    const ans = await raw(b.t.listenUrl, '/raft/stream', headers({ from: '3' }), []);
    assert.equal(ans.status, 200);
    assert.match(ans.body, /^transport: Unavailable: nothing received/);
  } finally {
    await closeAll(a, b);
  }
});
