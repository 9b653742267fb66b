// Link liveness under a test-driven clock: keep-alives on an idle stream, and a stream whose
// socket stopped draining being given up (etcd's ConnWriteTimeout idea).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeFrame } from '../../src/transport/codec.js';
import { app, Events, FakeTimers, member } from './helpers.js';

async function rawReceiver(onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const srv = http.createServer(onRequest);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

test('an idle stream sends a keep-alive frame each keepAliveMs it wrote nothing, and only then', { timeout: 30_000 }, async () => {
  const bytes = new Events<Buffer>();
  const ended = new Events<Buffer>();
  const rx = await rawReceiver((req, res) => {
    res.writeHead(200);
    res.flushHeaders();
    const all: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      all.push(c);
      bytes.push(c);
    });
    req.on('end', () => {
      ended.push(Buffer.concat(all));
      res.end();
    });
  });
  const clock = new FakeTimers();
  const a = await member(1n, { timers: clock, keepAliveMs: 1000 });
  try {
    a.t.addPeer(2n, [rx.url]);
    await a.logs.next((l) => l.msg === 'stream to peer established');
    clock.advance(1000); // idle for a period: keep-alive
    await bytes.next();
    a.t.send([app(1n, 2n, 1)]);
    await bytes.next();
    clock.advance(1000); // a message went out in this period: nothing
    clock.advance(1000); // idle again: keep-alive
    await bytes.next();
    await a.t.close();
    const ka = Buffer.alloc(4);
    assert.deepEqual(await ended.next(), Buffer.concat([ka, encodeFrame(app(1n, 2n, 1)), ka]));
  } finally {
    await a.t.close();
    await rx.close();
  }
});

test('a stream whose socket makes no write progress for writeStallMs is dropped and reported', { timeout: 30_000 }, async () => {
  const accepted = new Events<http.IncomingMessage>();
  const rx = await rawReceiver((req, res) => {
    res.writeHead(200);
    res.flushHeaders();
    req.pause(); // never read: the kernel buffers fill, then the sender's socket stops draining
    accepted.push(req);
  });
  const clock = new FakeTimers();
  const a = await member(1n, { timers: clock, keepAliveMs: 100, writeStallMs: 300, maxQueueBytes: 256 << 20 });
  try {
    a.t.addPeer(2n, [rx.url]);
    await a.logs.next((l) => l.msg === 'stream to peer established');
    for (let i = 0; i < 64; i++) a.t.send([app(1n, 2n, i, 1 << 20)]);
    // Drive the clock while letting I/O run, until the sender gives up on the stream.
    let lost = false;
    void a.unreachable.next((id) => id === 2n).then(() => (lost = true));
    while (!lost) {
      clock.advance(100);
      await new Promise((r) => setImmediate(r));
    }
    await a.logs.next((l) => l.msg === 'lost stream to peer' && String(l.obj['reason']).startsWith('no write progress'));
  } finally {
    await a.t.close();
    await rx.close();
  }
});
