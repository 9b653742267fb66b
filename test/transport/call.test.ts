// Calls over the peer port (src/transport/call.ts): opaque request/response for the member's own
// use (lease renewals forwarded to the leader), only between authenticated members, bounded in
// size and time. Real sockets; real mutual-TLS handshakes with CertStore certificates.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { isTransportError, type TransportErrorCode } from '../../src/transport/index.js';
import { enc, member, pair, type Member, type MemberOptions } from './helpers.js';
import { certOptions, NAMES, peerHeaders, peerPki, peerTls, rawTls, type PeerPki } from './tls-fixture.js';

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const HTTPS = ['https://127.0.0.1:0'];

async function rejectsWith(p: Promise<unknown>, code: TransportErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTransportError(e), `a TransportError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

async function closeAll(...ms: (Member | undefined)[]): Promise<void> {
  await Promise.all(ms.map((m) => m?.t.close()));
}

/** Registers an "echo" handler on `m` that records who called. */
function echo(m: Member): Array<bigint> {
  const callers: bigint[] = [];
  m.t.handle('test.echo', async (from, body) => {
    callers.push(from);
    return enc(`${from}:${dec(body)}`);
  });
  return callers;
}

/** A plaintext call made by hand (headers as given), for requests the Transport would never send. */
function rawCall(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; code: string | undefined; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: u.hostname, port: Number(u.port), method: 'POST', path: '/keyward/call', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.headers['x-keyward-error'] as string | undefined, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a call carries opaque bytes to the handler registered for its kind and brings its answer back; many at once over pooled connections', async () => {
  const [a, b] = await pair();
  try {
    const callers = echo(b);
    assert.equal(dec(await a.t.call(2n, 'test.echo', enc('hello'), { timeoutMs: 2000 })), '1:hello');
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => a.t.call(2n, 'test.echo', enc(String(i)), { timeoutMs: 5000 })));
    assert.deepEqual(many.map(dec), Array.from({ length: 40 }, (_, i) => `1:${i}`));
    assert.equal(callers.length, 41);
    assert.ok(callers.every((c) => c === 1n), 'the handler learns the sending member');
    // An empty body and binary bytes pass unchanged.
    b.t.handle('test.len', async (_from, body) => Uint8Array.from([body.byteLength, ...body]));
    assert.deepEqual([...(await a.t.call(2n, 'test.len', new Uint8Array(0), { timeoutMs: 2000 }))], [0]);
    assert.deepEqual([...(await a.t.call(2n, 'test.len', Uint8Array.from([0, 255, 10]), { timeoutMs: 2000 }))], [3, 0, 255, 10]);
  } finally {
    await closeAll(a, b);
  }
});

test('refusals are typed: unknown kind 404 NotFound, a failing handler HandlerFailed, a non-peer Unreachable, a stopped transport Unavailable', async () => {
  const [a, b] = await pair();
  try {
    echo(b);
    await rejectsWith(a.t.call(2n, 'test.nothing', enc('x'), { timeoutMs: 2000 }), 'NotFound', /no call handler test\.nothing/);
    b.t.handle('test.boom', async () => {
      throw new Error('the handler broke');
    });
    await rejectsWith(a.t.call(2n, 'test.boom', enc('x'), { timeoutMs: 2000 }), 'HandlerFailed');
    const logged = await b.logs.next((l) => l.msg === 'call handler failed');
    assert.equal(logged.obj['err'], 'the handler broke');
    await rejectsWith(a.t.call(9n, 'test.echo', enc('x'), { timeoutMs: 2000 }), 'Unreachable', /member 9 is not a peer/);
    assert.throws(() => b.t.handle('test.echo', async () => new Uint8Array()), /already registered/);
    assert.throws(() => b.t.handle('Bad Kind', async () => new Uint8Array()), TypeError);
    assert.throws(() => a.t.call(2n, 'x/../y', enc(''), { timeoutMs: 10 }), TypeError);
    // The same call works after all that.
    assert.equal(dec(await a.t.call(2n, 'test.echo', enc('still'), { timeoutMs: 2000 })), '1:still');
    await b.t.close();
    await rejectsWith(a.t.call(2n, 'test.echo', enc('x'), { timeoutMs: 2000 }), 'Unreachable');
    await a.t.close();
    await rejectsWith(a.t.call(2n, 'test.echo', enc('x'), { timeoutMs: 2000 }), 'Unavailable');
  } finally {
    await closeAll(a, b);
  }
});

test('D9 an oversized call is refused: by the caller before sending, by the receiver from Content-Length before reading (413), and an oversized answer too', async () => {
  const opts: MemberOptions = { maxCallBytes: 1024 };
  const [a, b] = await pair(opts, opts);
  try {
    const callers = echo(b);
    await rejectsWith(a.t.call(2n, 'test.echo', new Uint8Array(1025), { timeoutMs: 2000 }), 'TooLarge');
    // By hand, past the caller's check: the receiver refuses on the declared length.
    const big = 'x'.repeat(2000);
    const r = await rawCall(b.t.listenUrl, { ...peerHeaders(1n, 2n), 'x-keyward-call': 'test.echo', 'content-length': String(big.length) }, big);
    assert.deepEqual([r.status, r.code], [413, 'TooLarge']);
    assert.match(r.body, /call of 2000 bytes exceeds 1024/);
    const noLength = await new Promise<number>((resolve, reject) => {
      const u = new URL(b.t.listenUrl);
      const req = http.request({ hostname: u.hostname, port: Number(u.port), method: 'POST', path: '/keyward/call', headers: { ...peerHeaders(1n, 2n), 'x-keyward-call': 'test.echo', 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('abc');
    });
    assert.equal(noLength, 411);
    // A sender that is no peer is refused before anything else (403).
    const stranger = await rawCall(b.t.listenUrl, { ...peerHeaders(7n, 2n), 'x-keyward-call': 'test.echo', 'content-length': '1' }, 'x');
    assert.deepEqual([stranger.status, stranger.code], [403, 'UnknownSender']);
    assert.equal(callers.length, 0, 'no refused call reached the handler');
    // An answer over the cap is the handler's failure, not sent.
    b.t.handle('test.big', async () => new Uint8Array(1025));
    await rejectsWith(a.t.call(2n, 'test.big', enc(''), { timeoutMs: 2000 }), 'HandlerFailed');
  } finally {
    await closeAll(a, b);
  }
});

test('a call that is not answered in time fails with Timeout: at the caller\'s deadline, and at the receiver\'s callTimeoutMs', async () => {
  const [a, b] = await pair({}, { callTimeoutMs: 300 });
  try {
    let release: (() => void) | undefined;
    b.t.handle('test.hang', () => new Promise<Uint8Array>((resolve) => (release = () => resolve(enc('late')))));
    const started = Date.now();
    await rejectsWith(a.t.call(2n, 'test.hang', enc(''), { timeoutMs: 100 }), 'Timeout', /within 100 ms/);
    assert.ok(Date.now() - started < 290, 'the caller gave up at its own deadline');
    // The receiver's own deadline answers a caller that waits longer.
    await rejectsWith(a.t.call(2n, 'test.hang', enc(''), { timeoutMs: 5000 }), 'Timeout', /no answer within 300 ms/);
    release?.();
    echo(b);
    assert.equal(dec(await a.t.call(2n, 'test.echo', enc('ok'), { timeoutMs: 2000 })), '1:ok');
  } finally {
    await closeAll(a, b);
  }
});

// ---- over mutual TLS -------------------------------------------------------------------------

async function tlsMember(pki: PeerPki, id: bigint, name: string, names = NAMES): Promise<Member> {
  return member(id, { listenUrls: HTTPS, tls: peerTls(pki.reloader(name), names) });
}

function link(a: Member, b: Member): void {
  a.t.addPeer(b.id, [b.t.listenUrl]);
  b.t.addPeer(a.id, [a.t.listenUrl]);
}

test('A17 calls over mutual TLS: members call each other; a user certificate, a foreign peer CA and a member claiming another ID are refused, and no refused call reaches a handler', async () => {
  const pki = peerPki();
  const foreign = peerPki();
  const a = await tlsMember(pki, 1n, 'm1');
  const b = await tlsMember(pki, 2n, 'm2');
  const liar = await tlsMember(pki, 3n, 'm1'); // member 3 presenting m1's certificate
  const stranger = await tlsMember(foreign, 1n, 'm1'); // right name, another cluster's CA
  try {
    link(a, b);
    const callers = echo(b);
    echo(a);
    assert.equal(dec(await a.t.call(2n, 'test.echo', enc('tls'), { timeoutMs: 3000 })), '1:tls');
    assert.equal(dec(await b.t.call(1n, 'test.echo', enc('back'), { timeoutMs: 3000 })), '2:back');
    for (let i = 0; i < 5; i++) assert.equal(dec(await a.t.call(2n, 'test.echo', enc(String(i)), { timeoutMs: 3000 })), `1:${i}`);
    assert.equal(callers.length, 6);

    const L = pki.store.layout;
    // The admin's client certificate (client CA): no handshake on the peer port.
    const asRoot = await rawTls(b.t.listenUrl, '/keyward/call', { ...peerHeaders(1n, 2n), 'x-keyward-call': 'test.echo', 'content-length': '0' }, [], certOptions(L.client('root').cert, L.client('root').key, L.peerCa.cert));
    assert.equal(asRoot.status, 0, `handshake refused: ${JSON.stringify(asRoot)}`);
    // A member of another cluster (its own peer CA) cannot call, nor be called.
    stranger.t.addPeer(2n, [b.t.listenUrl]);
    await rejectsWith(stranger.t.call(2n, 'test.echo', enc('x'), { timeoutMs: 3000 }), 'Unreachable');
    // m1's certificate claiming member 3: 403 IdentityMismatch.
    liar.t.addPeer(2n, [b.t.listenUrl]);
    b.t.addPeer(3n, [liar.t.listenUrl]);
    await rejectsWith(liar.t.call(2n, 'test.echo', enc('x'), { timeoutMs: 3000 }), 'IdentityMismatch', /certificate names "m1", claimed member 3/);
    // Dialled the other way: the handshake itself refuses the liar's listener (expected name m3).
    await rejectsWith(b.t.call(3n, 'test.echo', enc('x'), { timeoutMs: 3000 }), 'Unreachable', /the server certificate names "m1", expected "m3"/);
    assert.equal(callers.length, 6, 'no refused call reached the handler');
  } finally {
    await closeAll(a, b, liar, stranger);
    await Promise.all([pki.dispose(), foreign.dispose()]);
  }
});

/** Members m1 and m2 with peer mTLS, linked both ways, m2 echoing 'test.echo' calls. */
async function withEchoPair(fn: (a: TlsMember, pki: ReturnType<typeof peerPki>) => Promise<void>): Promise<void> {
  const pki = peerPki();
  const a = await tlsMember(pki, 1n, 'm1');
  const b = await tlsMember(pki, 2n, 'm2');
  try {
    link(a, b);
    echo(b);
    await fn(a, pki);
  } finally {
    await closeAll(a, b);
    await pki.dispose();
  }
}
type TlsMember = Awaited<ReturnType<typeof tlsMember>>;

test('A18b a pooled call connection whose server certificate was revoked is not used again', async () => {
  await withEchoPair(async (a, pki) => {
    assert.equal(dec(await a.t.call(2n, 'test.echo', enc('1'), { timeoutMs: 3000 })), '1:1');
    const serial = new X509Certificate(readFileSync(pki.store.layout.member('m2').peer.cert)).serialNumber;
    pki.store.revoke([serial]);
    for (const r of pki.reloaders) r.reload();
    // The next call re-checks the pooled connection before writing: m2's certificate is revoked now.
    await rejectsWith(a.t.call(2n, 'test.echo', enc('2'), { timeoutMs: 3000 }), 'PeerCertificate', /Revoked/);
  });
});

test('A17 every new call connection is checked in full: calls opened after the first (a busy pool) succeed rather than resuming a TLS session that carries no certificate', async () => {
  await withEchoPair(async (a) => {
    assert.equal(dec(await a.t.call(2n, 'test.echo', enc('first'), { timeoutMs: 3000 })), '1:first');
    // One pooled connection is free; the other seven calls open new ones. With the agent's TLS
    // session cache these resumed the first handshake's session, whose peer certificate chain is
    // empty, and the dialled check refused them all: "the peer presented no certificate".
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => a.t.call(2n, 'test.echo', enc(String(i)), { timeoutMs: 3000 })));
    assert.deepEqual(answers.map(dec), Array.from({ length: 8 }, (_, i) => `1:${i}`));
  });
});
