// Mutual TLS between members with each certificate bound to the member it speaks for
// (src/transport/peer-identity.ts). Real handshakes; certificates from CertStore in temp dirs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Message } from '../../src/raft/index.js';
import { clientTlsOptions } from '../../src/tls/index.js';
import { Transport } from '../../src/transport/index.js';
import { encodeFrame } from '../../src/transport/codec.js';
import { app, member } from './helpers.js';
import type { Member, MemberOptions } from './helpers.js';
import { certOptions, NAMES, peerHeaders, peerPki, peerTls, rawTls, type PeerPki } from './tls-fixture.js';

const HTTPS = ['https://127.0.0.1:0'];

async function tlsMember(pki: PeerPki, id: bigint, name: string, names = NAMES, extra: MemberOptions & { allowedNames?: readonly string[] } = {}): Promise<Member> {
  const { allowedNames, ...rest } = extra;
  return member(id, { listenUrls: HTTPS, tls: peerTls(pki.reloader(name), names, allowedNames), ...rest });
}

async function closeAll(...ms: (Member | undefined)[]): Promise<void> {
  await Promise.all(ms.map((m) => m?.t.close()));
}

function link(a: Member, b: Member): void {
  a.t.addPeer(b.id, [b.t.listenUrl]);
  b.t.addPeer(a.id, [a.t.listenUrl]);
}

const refusals = (m: Member) => m.logs.all.filter((l) => l.msg === 'refused peer request');

test('members talk over mutual TLS: messages both ways and a snapshot', async () => {
  const pki = peerPki();
  const a = await tlsMember(pki, 1n, 'm1');
  const b = await tlsMember(pki, 2n, 'm2');
  try {
    assert.match(a.t.listenUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    link(a, b);
    const snap: Message = { type: 'snap', from: 1n, to: 2n, term: 2, snapshot: { data: new Uint8Array(300_000).fill(3), metadata: { index: 9, term: 2, confState: { voters: [1n, 2n], learners: [] } } } };
    a.t.send([app(1n, 2n, 1), snap]);
    const got = await b.inbox.count(2);
    assert.deepEqual(new Set(got.map((m) => m.type)), new Set(['app', 'snap']));
    assert.deepEqual(await a.snaps.next(), [2n, true]);
    b.t.send([app(2n, 1n, 5)]);
    assert.equal((await a.inbox.next()).type, 'app');
    // Both sides saw the certificate of the member they expected.
    const accepted = await b.logs.next((l) => l.msg === 'accepted inbound stream');
    assert.equal(accepted.obj['certName'], 'm1');
    const verified = await a.logs.next((l) => l.msg === 'peer certificate verified');
    assert.equal(verified.obj['certName'], 'm2');
  } finally {
    await closeAll(a, b);
    await pki.dispose();
  }
});

test('A17: a member whose certificate a foreign peer CA signed cannot reach us, nor we it', async () => {
  const pki = peerPki();
  const foreign = peerPki();
  const b = await tlsMember(pki, 2n, 'm2');
  // Same names, same layout, another CA: a certs/ tree from a different `certs init`.
  const c = await tlsMember(foreign, 1n, 'm1');
  try {
    link(b, c);
    c.t.send([app(1n, 2n, 1)]);
    assert.equal(await c.unreachable.next(), 2n);
    await b.logs.next((l) => l.msg === 'peer TLS handshake failed');
    b.t.send([app(2n, 1n, 1)]);
    assert.equal(await b.unreachable.next(), 1n);
    assert.equal(b.inbox.all.length, 0);
    assert.equal(c.inbox.all.length, 0);
  } finally {
    await closeAll(b, c);
    await Promise.all([pki.dispose(), foreign.dispose()]);
  }
});

test('A17: a client-CA certificate is refused as a peer, even by a listener that trusts both CAs', async () => {
  const pki = peerPki();
  const L = pki.store.layout;
  // An operator who put both CAs into --peer-trusted-ca-file: the chain then verifies, and the
  // identity check must still refuse certificates that are not peer certificates.
  const bundle = pki.dir.sub('both-cas.crt');
  writeFileSync(bundle, Buffer.concat([readFileSync(L.peerCa.cert), readFileSync(L.clientCa.cert)]), { mode: 0o600 });
  const strict = await tlsMember(pki, 2n, 'm2');
  const lax = await member(3n, { listenUrls: HTTPS, tls: peerTls(pki.reloader('m3', { caFile: bundle }), NAMES) });
  try {
    strict.t.addPeer(1n, ['https://127.0.0.1:1']);
    lax.t.addPeer(1n, ['https://127.0.0.1:1']);
    const asRoot = certOptions(L.client('root').cert, L.client('root').key, L.peerCa.cert);
    // The admin's client certificate, claiming to be member 1.
    const refused = await rawTls(strict.t.listenUrl, '/raft/stream', peerHeaders(1n, 2n), [], asRoot);
    assert.equal(refused.status, 0, 'the handshake itself fails against the peer CA');
    const lax1 = await rawTls(lax.t.listenUrl, '/raft/stream', peerHeaders(1n, 3n), [], asRoot);
    assert.deepEqual([lax1.status, lax1.code, lax1.error], [403, 'PeerCertificate', undefined]);
    assert.match(lax1.body, /WrongUsage/);
    // A member's client-port (server) certificate is no peer certificate either.
    const server = L.member('m1').server;
    // (OpenSSL's own purpose check already refuses a serverAuth-only certificate as a TLS client.)
    const lax2 = await rawTls(lax.t.listenUrl, '/raft/stream', peerHeaders(1n, 3n), [], certOptions(server.cert, server.key, L.peerCa.cert));
    assert.equal(lax2.status, 0);
    // The real m1 peer certificate is accepted by the same listener.
    void rawTls(lax.t.listenUrl, '/raft/stream', peerHeaders(1n, 3n), [encodeFrame(app(1n, 3n, 1))], certOptions(L.member('m1').peer.cert, L.member('m1').peer.key, L.peerCa.cert));
    assert.equal((await lax.inbox.next()).type, 'app');
    assert.equal(lax.inbox.all.length, 1);
    assert.equal(refusals(lax).length, 1);
  } finally {
    await closeAll(strict, lax);
    await pki.dispose();
  }
});

test('A17: a peer certificate of one member claiming another member ID is refused (403 IdentityMismatch), logged with both names', async () => {
  const pki = peerPki();
  const b = await tlsMember(pki, 2n, 'm2');
  // Member 3's certificate in a transport that says it is member 1.
  const liar = await tlsMember(pki, 1n, 'm3');
  try {
    link(b, liar);
    liar.t.send([app(1n, 2n, 1)]);
    assert.equal(await liar.unreachable.next(), 2n);
    const log = await b.logs.next((l) => l.msg === 'refused peer request');
    assert.equal(log.obj['code'], 'IdentityMismatch');
    assert.match(String(log.obj['reason']), /certificate names "m3", claimed member 1: member 1 is "m1"/);
    const sent = await liar.logs.next((l) => l.msg === 'cannot reach peer');
    assert.match(String(sent.obj['reason']), /403 \(IdentityMismatch\)/);
    assert.equal(b.inbox.all.length, 0);
    // Raw, with the snapshot endpoint too: nothing is delivered, the member keeps running.
    const L = pki.store.layout;
    const m3 = certOptions(L.member('m3').peer.cert, L.member('m3').peer.key, L.peerCa.cert);
    const snap = await rawTls(b.t.listenUrl, '/raft/snapshot', { ...peerHeaders(1n, 2n), 'content-length': '10' }, [], m3);
    assert.deepEqual([snap.status, snap.code], [403, 'IdentityMismatch']);
    assert.equal(b.inbox.all.length, 0);
    // Dialled the other way, the liar's listener presents "m3" where b expects member 1 ("m1").
    b.t.send([app(2n, 1n, 1)]);
    assert.equal(await b.unreachable.next(), 1n);
    assert.equal(liar.inbox.all.length, 0);
  } finally {
    await closeAll(b, liar);
    await pki.dispose();
  }
});

test('the dialled member must be the one we meant: another member at its URL gets no byte of ours', async () => {
  const pki = peerPki();
  const a = await tlsMember(pki, 1n, 'm1');
  const c = await tlsMember(pki, 3n, 'm3');
  // a does not know member 2's name yet (unpublished), so no expectedName in the handshake: the
  // check after it must still refuse "m3", the known name of member 3.
  const anon = new Map([...NAMES].filter(([id]) => id !== 2n));
  const a2 = await tlsMember(pki, 1n, 'm1', anon);
  try {
    c.t.addPeer(1n, [a.t.listenUrl]);
    a.t.addPeer(2n, [c.t.listenUrl]); // member 2's recorded URL, where m3 listens
    a.t.send([app(1n, 2n, 1)]);
    assert.equal(await a.unreachable.next(), 2n);
    a2.t.addPeer(2n, [c.t.listenUrl]);
    a2.t.addPeer(3n, ['https://127.0.0.1:1']);
    a2.t.send([app(1n, 2n, 1)]);
    await a2.unreachable.next((id) => id === 2n);
    const why = await a2.logs.next((l) => l.msg === 'cannot reach peer' && l.obj['peer'] === '2');
    assert.match(String(why.obj['reason']), /IdentityMismatch: certificate names "m3", claimed member 2: that is the name of member 3/);
    // No request reached m3: neither delivered nor refused there.
    assert.equal(refusals(c).length, 0);
    assert.equal(c.inbox.all.length, 0);
  } finally {
    await closeAll(a, c, a2);
    await pki.dispose();
  }
});

test('A17: a name not on --peer-cert-allowed-cn is refused in both directions', async () => {
  const pki = peerPki();
  const a = await tlsMember(pki, 1n, 'm1');
  const b = await tlsMember(pki, 2n, 'm2', NAMES, { allowedNames: ['m2', 'm3'] });
  const c = await tlsMember(pki, 3n, 'm3');
  try {
    link(a, b);
    b.t.addPeer(3n, [c.t.listenUrl]);
    c.t.addPeer(2n, [b.t.listenUrl]);
    a.t.send([app(1n, 2n, 1)]);
    assert.equal(await a.unreachable.next(), 2n);
    const log = await b.logs.next((l) => l.msg === 'refused peer request');
    assert.equal(log.obj['code'], 'PeerCertificate');
    assert.match(String(log.obj['reason']), /NotAllowed: peer "m1" is not on the allowed list/);
    b.t.send([app(2n, 1n, 1)]);
    assert.equal(await b.unreachable.next(), 1n);
    assert.equal(a.inbox.all.length, 0);
    // An allowed member passes.
    c.t.send([app(3n, 2n, 7)]);
    const got = await b.inbox.next();
    assert.equal(got.from, 3n);
    assert.equal(b.inbox.all.length, 1);
  } finally {
    await closeAll(a, b, c);
    await pki.dispose();
  }
});

test('an unpublished member is accepted only with a certificate for its peer URL host that names no other member; a published name binds open streams', async () => {
  const pki = peerPki();
  pki.store.addMember('m4', ['m4.example.org']); // SANs cover only m4.example.org
  const names = new Map(NAMES);
  names.delete(3n); // member 3 was added with `member add` and has not published its name
  const b = await tlsMember(pki, 2n, 'm2', names);
  const c = await tlsMember(pki, 3n, 'm3');
  const four = await tlsMember(pki, 4n, 'm4');
  const one = await tlsMember(pki, 4n, 'm1'); // member 1's certificate, speaking as unnamed member 4
  try {
    link(b, c);
    b.t.addPeer(1n, ['https://127.0.0.1:1']); // member 1 ("m1") is known to b, though down
    c.t.send([app(3n, 2n, 1)]);
    assert.equal((await b.inbox.next()).from, 3n);

    b.t.addPeer(4n, [four.t.listenUrl]); // 127.0.0.1, which m4's certificate does not name
    four.t.addPeer(2n, [b.t.listenUrl]);
    four.t.send([app(4n, 2n, 1)]);
    assert.equal(await four.unreachable.next(), 2n);
    let log = await b.logs.next((l) => l.msg === 'refused peer request');
    assert.match(String(log.obj['reason']), /certificate names "m4", claimed member 4: member 4 has not published its name and the certificate covers none of its peer URL hosts \(127\.0\.0\.1:\d+\)/);

    one.t.addPeer(2n, [b.t.listenUrl]);
    one.t.send([app(4n, 2n, 1)]);
    assert.equal(await one.unreachable.next(), 2n);
    log = await b.logs.next((l) => l.msg === 'refused peer request' && String(l.obj['reason']).includes('"m1"'));
    assert.match(String(log.obj['reason']), /certificate names "m1", claimed member 4: that is the name of member 1/);
    assert.equal(b.inbox.all.length, 1);

    // Member 3 publishes a name its certificate does not carry: the open stream is cut at its next frame.
    names.set(3n, 'm3-renamed');
    c.t.send([app(3n, 2n, 2)]);
    const cut = await b.logs.next((l) => l.msg === 'dropping inbound stream');
    assert.equal(cut.obj['code'], 'IdentityMismatch');
    assert.equal(b.inbox.all.length, 1);
    // Published as its certificate says: accepted again on reconnect.
    names.set(3n, 'm3');
    await c.logs.next((l) => l.msg === 'stream to peer re-established' && l.obj['peer'] === '2');
    c.t.send([app(3n, 2n, 3)]);
    const again = await b.inbox.next((m) => m.type === 'app' && m.index === 3, 10_000);
    assert.equal(again.from, 3n);
  } finally {
    await closeAll(b, c, four, one);
    await pki.dispose();
  }
});

test('rotation: new peer certificates are used without a restart, and revoking the old one cuts its open stream', async () => {
  const pki = peerPki();
  const L = pki.store.layout;
  const ra = pki.reloader('m1', { watch: true, debounceMs: 50 });
  const a = await member(1n, { listenUrls: HTTPS, tls: peerTls(ra, NAMES) });
  const rb = pki.reloader('m2', { watch: true, debounceMs: 50 });
  const b = await member(2n, { listenUrls: HTTPS, tls: peerTls(rb, NAMES) });
  const reloaded = (r: typeof ra, serial: string): Promise<void> =>
    new Promise((resolve) => {
      const off = r.onReload((o) => {
        if (o.ok && o.material.leafSerial === serial) {
          off();
          resolve();
        }
      });
    });
  try {
    link(a, b);
    a.t.send([app(1n, 2n, 1)]);
    await b.inbox.next();
    const first = await b.logs.next((l) => l.msg === 'accepted inbound stream');
    const oldA = String(first.obj['certSerial']);

    // Rotate both members' peer certificates on disk; the file watchers reload them.
    const oldPem = { cert: readFileSync(L.member('m1').peer.cert), key: readFileSync(L.member('m1').peer.key), ca: readFileSync(L.peerCa.cert), servername: 'localhost' };
    const rotA = pki.store.rotate('m1');
    const rotB = pki.store.rotate('m2');
    assert.equal(rotA.previousSerials.peer, oldA);
    await Promise.all([reloaded(ra, rotA.peer.serial), reloaded(rb, rotB.peer.serial)]);

    // The open stream still runs on the old certificate; revoking it (denylist) makes b cut it,
    // and a reconnects with its new certificate to b's new one.
    pki.store.revoke([oldA]);
    const cut = await b.logs.next((l) => l.msg === 'peer connection with a revoked certificate cut', 5000);
    assert.equal(cut.obj['serial'], oldA);
    await a.logs.next((l) => l.msg === 'stream to peer re-established' && l.obj['peer'] === '2');
    a.t.send([app(1n, 2n, 2)]);
    await b.inbox.next((m) => m.type === 'app' && m.index === 2);
    const second = await b.logs.next((l) => l.msg === 'accepted inbound stream');
    assert.equal(second.obj['certSerial'], rotA.peer.serial);
    // a's new dial met b's new certificate (logged before the stream re-established).
    const dialled = a.logs.all.find((l) => l.msg === 'peer certificate verified' && l.obj['certSerial'] === rotB.peer.serial);
    assert.equal(dialled?.obj['certName'], 'm2');
    // The old certificate itself is now refused at the door.
    const old = await rawTls(b.t.listenUrl, '/raft/stream', peerHeaders(1n, 2n), [], clientTlsOptions(oldPem));
    assert.notEqual(old.status, 200);
  } finally {
    await closeAll(a, b);
    await pki.dispose();
  }
});

test('malformed and oversized peer messages are still refused over TLS, from an authenticated peer', async () => {
  const pki = peerPki();
  const L = pki.store.layout;
  const b = await tlsMember(pki, 2n, 'm2', NAMES, { maxMessageBytes: 1024 });
  try {
    b.t.addPeer(1n, ['https://127.0.0.1:1']);
    const m1 = certOptions(L.member('m1').peer.cert, L.member('m1').peer.key, L.peerCa.cert);
    const url = b.t.listenUrl;
    const h = peerHeaders(1n, 2n);
    assert.match((await rawTls(url, '/raft/stream', h, [Uint8Array.from([0x7f, 0xff, 0xff, 0xff])], m1)).body, /^transport: TooLarge: /);
    assert.match((await rawTls(url, '/raft/stream', h, [encodeFrame(app(1n, 2n, 1, 2000))], m1)).body, /^transport: TooLarge: /);
    assert.match((await rawTls(url, '/raft/stream', h, [Uint8Array.from([0, 0, 0, 3, 1, 99, 0])], m1)).body, /^transport: Malformed: /);
    assert.match((await rawTls(url, '/raft/stream', h, [encodeFrame(app(3n, 2n, 1))], m1)).body, /^transport: SenderMismatch: /);
    const huge = await rawTls(url, '/raft/snapshot', { ...h, 'content-length': String(1 << 30) }, [], m1);
    assert.deepEqual([huge.status, huge.code], [413, 'TooLarge']);
    assert.equal(b.inbox.all.length, 0);
    // Still serving: a good frame from the same peer gets through (the stream stays open until close()).
    void rawTls(url, '/raft/stream', h, [encodeFrame(app(1n, 2n, 9))], m1);
    assert.equal((await b.inbox.next()).from, 1n);
  } finally {
    await closeAll(b);
    await pki.dispose();
  }
});

test('misconfiguration with TLS is a TypeError at construction', () => {
  const pki = peerPki(['m1']);
  try {
    const tls = peerTls(pki.reloader('m1'), NAMES);
    const base = { selfId: 1n, clusterId: 1n, onMessage() {}, onUnreachable() {}, onSnapshotStatus() {} };
    // No plaintext side door once TLS is configured, neither listening nor dialling.
    assert.throws(() => new Transport({ ...base, tls, listenUrls: ['http://127.0.0.1:0'] }), /is http but peer TLS is configured/);
    assert.throws(() => new Transport({ ...base, tls, listenUrls: HTTPS, peers: [[2n, ['http://127.0.0.1:1']]] }), /is http but peer TLS is configured/);
    assert.throws(() => new Transport({ ...base, listenUrls: HTTPS }), /no tls options/);
    // @ts-expect-error -- a JavaScript caller forgetting memberNameOf
    assert.throws(() => new Transport({ ...base, listenUrls: HTTPS, tls: { reloader: tls.reloader } }), /memberNameOf/);
  } finally {
    void pki.dispose();
  }
});
