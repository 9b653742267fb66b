// Peer mTLS in a running cluster (issue 5, GUARANTEES A17 on the peer port): KeywardServer members
// in one process, real LMDB, real TLS handshakes on https peer URLs, certificates from CertStore;
// and a fault test of three secure `keyward serve` processes (https client and peer ports). The
// transport-level refusals (foreign CA, client certificates, allowed CNs, malformed frames) are in
// test/transport/tls.test.ts; here the whole member is exercised.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeywardServer, memberIdFor, type ServerOptions } from '../../src/server/index.js';
import { CertStore, TlsReloader } from '../../src/tls/index.js';
import type { TransportLogger } from '../../src/transport/index.js';
import { SortOrder, SortTarget, type RangeRequest } from '../../src/wire/index.js';
import { TEST_HOSTS } from '../harness/certs.js';
import { freePort } from '../harness/ports.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';
import { callSlot, killSlot, killSlots, leaderSlot, processSlots, startSlots, type ProcessSlot } from '../harness/process-cluster.js';
import { certOptions, rawTls } from '../transport/tls-fixture.js';
import { runKeyward } from '../harness/process.js';
import { existsSync } from 'node:fs';

const TOKEN = 'tls-peer-test';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Log {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

interface Slot {
  name: string;
  /** Whose peer certificate this member presents (its own unless a test says otherwise). */
  certOf: string;
  peerUrl: string;
  id: bigint;
  logs: Log[];
  reloader: TlsReloader | null;
  server: KeywardServer | null;
}

class SecureCluster {
  readonly slots: Slot[] = [];
  readonly store: CertStore;
  private constructor(readonly dir: TmpDir) {
    this.store = new CertStore(dir.sub('certs'));
  }

  static async create(names: string[], certOf: Record<string, string> = {}): Promise<SecureCluster> {
    const c = new SecureCluster(makeTmpDir('keyward-tls-peer-'));
    c.store.init(names, TEST_HOSTS);
    c.store.revoke([]); // an empty denylist file, so members can watch it
    for (const n of names) await c.slot(n, certOf[n] ?? n);
    return c;
  }

  async slot(name: string, certOf = name): Promise<Slot> {
    const peerUrl = `https://127.0.0.1:${await freePort()}`;
    const s: Slot = { name, certOf, peerUrl, id: memberIdFor([peerUrl], TOKEN), logs: [], reloader: null, server: null };
    this.slots.push(s);
    return s;
  }

  async open(s: Slot, initial: readonly Slot[], state: 'new' | 'existing' = 'new', extra: Partial<ServerOptions> = {}): Promise<KeywardServer> {
    const L = this.store.layout;
    const m = L.member(s.certOf);
    s.reloader = new TlsReloader({ certFile: m.peer.cert, keyFile: m.peer.key, caFile: L.peerCa.cert, revokedFile: L.revoked, debounceMs: 50 });
    const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void s.logs.push({ level, msg, obj });
    const logger: TransportLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    s.server = await KeywardServer.open({
      name: s.name,
      dataDir: this.dir.sub(`data-${s.name}`),
      advertisePeerUrls: [s.peerUrl],
      listenPeerUrls: [s.peerUrl],
      clusterToken: TOKEN,
      maxRequestBytes: 1572864,
      maxTxnOps: 128,
      initialCluster: initial.map((x) => ({ name: x.name, peerUrls: [x.peerUrl] })),
      initialClusterState: state,
      heartbeatIntervalMs: 50,
      electionTimeoutMs: 500,
      requestTimeoutMs: 5000,
      transportLogger: logger,
      peerTls: { reloader: s.reloader },
      ...extra,
    });
    return s.server;
  }

  async dispose(): Promise<void> {
    for (const s of this.slots) {
      await s.server?.close();
      await s.reloader?.close();
    }
    this.dir.cleanup();
  }
}

function rangeOf(key: string, serializable: boolean): RangeRequest {
  return {
    key: enc(key), rangeEnd: new Uint8Array(0), limit: 0, revision: 0, sortOrder: SortOrder.NONE, sortTarget: SortTarget.KEY, serializable,
    keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  };
}

async function put(s: KeywardServer, key: string, value: string): Promise<void> {
  await s.put({ key: enc(key), value: enc(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
}

/** The value `server` has applied for `key` (its own state, no round to the leader), waiting up to `ms` for `want`. */
async function eventually(server: KeywardServer, key: string, want: string | undefined, ms = 10_000): Promise<string | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await server.range(rangeOf(key, true));
    const got = r.kvs[0] === undefined ? undefined : dec(r.kvs[0].value);
    if (got === want || Date.now() > until) return got;
    await new Promise((res) => setTimeout(res, 25));
  }
}

const refusals = (s: Slot): Log[] => s.logs.filter((l) => l.msg === 'refused peer request' || l.msg === 'dropping inbound stream');

test('three members replicate over peer mTLS, and a member added later joins with its own certificate before it has published its name', { timeout: 60_000 }, async () => {
  const c = await SecureCluster.create(['m0', 'm1', 'm2']);
  try {
    const founders = [...c.slots];
    await Promise.all(founders.map((s) => c.open(s, founders)));
    await Promise.all(founders.map((s) => s.server!.ready()));
    for (let i = 0; i < 30; i++) await put(founders[i % 3]!.server!, `k${i}`, `v${i}`);
    for (const s of founders) assert.equal(await eventually(s.server!, 'k29', 'v29'), 'v29', `${s.name} applied the writes`);
    // Every stream was authenticated as the member it came from.
    for (const s of founders) {
      const names = new Set(s.logs.filter((l) => l.msg === 'accepted inbound stream').map((l) => l.obj['certName']));
      assert.deepEqual([...names].sort(), founders.filter((x) => x !== s).map((x) => x.name).sort());
    }

    // member add (etcd's API carries no name), then the new member starts with its own certificate:
    // the founders know it only by ID and peer URL until it publishes "m3".
    c.store.addMember('m3', TEST_HOSTS);
    const added = await c.slot('m3');
    const res = await founders[0]!.server!.memberAdd({ peerUrls: [added.peerUrl], isLearner: false });
    assert.equal(res.member.id, added.id);
    assert.equal(res.member.name, '');
    await c.open(added, [...founders, added], 'existing');
    await added.server!.ready();
    assert.equal(await eventually(added.server!, 'k29', 'v29'), 'v29', 'the new member caught up over mTLS');
    await put(added.server!, 'from-m3', 'yes');
    for (const s of founders) assert.equal(await eventually(s.server!, 'from-m3', 'yes'), 'yes');
    const listed = founders[1]!.server!.memberList().members.find((m) => m.id === added.id);
    assert.equal(listed?.name, 'm3', 'the new member published its name');
    for (const s of c.slots) assert.deepEqual(refusals(s), [], `${s.name} refused nobody`);
  } finally {
    await c.dispose();
  }
});

test('A17: a member presenting another member\'s peer certificate takes no part; the others go on with a quorum', { timeout: 60_000 }, async () => {
  // m2 runs with m1's certificate: its streams claim m2's ID with a certificate naming "m1".
  const c = await SecureCluster.create(['m0', 'm1', 'm2'], { m2: 'm1' });
  try {
    const [m0, m1, m2] = c.slots as [Slot, Slot, Slot];
    await Promise.all(c.slots.map((s) => c.open(s, c.slots)));
    await Promise.all([m0.server!.ready(), m1.server!.ready()]);
    await put(m0.server!, 'k', 'v');
    assert.equal(await eventually(m1.server!, 'k', 'v'), 'v');
    // Give m2 time: it must not learn the write.
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(await eventually(m2.server!, 'k', 'v', 0), undefined);
    for (const s of [m0, m1]) {
      const r = s.logs.find((l) => l.msg === 'refused peer request' && l.obj['from'] === m2.id.toString(16));
      assert.ok(r !== undefined, `${s.name} refused m2`);
      assert.equal(r.obj['code'], 'IdentityMismatch');
      assert.match(String(r.obj['reason']), new RegExp(`certificate names "m1", claimed member ${m2.id.toString(16)}: member ${m2.id.toString(16)} is "m2"`));
    }
    // And m0/m1 never took m2's listener for m2 (it presents "m1" there too).
    const dialled = m0.logs.filter((l) => l.msg === 'cannot reach peer' && l.obj['peer'] === m2.id.toString(16));
    assert.ok(dialled.some((l) => /the server certificate names "m1", expected "m2"/.test(String(l.obj['reason']))), JSON.stringify(dialled.map((l) => l.obj['reason'])));
    assert.ok(!m0.logs.some((l) => l.msg === 'stream to peer established' && l.obj['peer'] === m2.id.toString(16)));
  } finally {
    await c.dispose();
  }
});

test('peer certificates of a running cluster are rotated and the old ones revoked without a restart; writes keep committing', { timeout: 60_000 }, async () => {
  const c = await SecureCluster.create(['m0', 'm1', 'm2']);
  try {
    await Promise.all(c.slots.map((s) => c.open(s, c.slots)));
    await Promise.all(c.slots.map((s) => s.server!.ready()));
    await put(c.slots[0]!.server!, 'before', '1');
    const old: string[] = [];
    const reloaded = c.slots.map(
      (s) =>
        new Promise<void>((resolve) => {
          const off = s.reloader!.onReload((o) => {
            if (o.ok && o.changed) {
              off();
              resolve();
            }
          });
        }),
    );
    for (const s of c.slots) old.push(c.store.rotate(s.name).previousSerials.peer!);
    await Promise.all(reloaded); // picked up by the file watchers: no SIGHUP, no restart
    c.store.revoke(old);
    // Every connection made with an old certificate is cut; the members reconnect with the new ones.
    const until = Date.now() + 10_000;
    while (!c.slots.every((s) => s.logs.some((l) => l.msg === 'peer connection with a revoked certificate cut'))) {
      assert.ok(Date.now() < until, 'every member cut the revoked connections');
      await new Promise((res) => setTimeout(res, 25));
    }
    // A proposal forwarded over a connection that is being cut is lost (raft does not resend
    // MsgProp; etcd's clients retry). Streams on old certificates keep being cut for up to a
    // keep-alive period (the sender's own re-check of the receiver's certificate), so the write
    // is retried as a client would.
    for (let attempt = 1; ; attempt++) {
      try {
        await put(c.slots[attempt % 3]!.server!, 'after', '2');
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
    for (const s of c.slots) assert.equal(await eventually(s.server!, 'after', '2'), '2', `${s.name} applied a write made after the revocation`);
    const cur = new Set(c.slots.map((s) => s.reloader!.material.leafSerial));
    for (const s of c.slots) {
      const late = s.logs.filter((l) => l.msg === 'accepted inbound stream').slice(-2);
      for (const l of late) assert.ok(cur.has(String(l.obj['certSerial'])), `${s.name} accepted a stream with a rotated certificate`);
    }
  } finally {
    await c.dispose();
  }
});

// ---- keyward serve processes: the Raft fault test with peer mTLS ------------------------------

const b64s = (x: string): string => Buffer.from(x).toString('base64');

/** Writers spread over the running members (as root over TLS); records every acknowledged write and its revision. */
function load(ss: ProcessSlot[], acked: Map<string, { value: string; revision: number }>): { stop(): Promise<void> } {
  let stopped = false;
  const workers = Array.from({ length: 6 }, async (_, w) => {
    for (let n = 0; !stopped; n++) {
      const live = ss.filter((s) => s.proc !== null);
      if (live.length === 0) return;
      const s = live[(w + n) % live.length]!;
      const key = `w${w}/${n}`;
      const value = `v${w}-${n}`;
      const r = await callSlot(s, '/v3/kv/put', { key: b64s(key), value: b64s(value) }).catch(() => undefined);
      if (r?.status === 200) acked.set(key, { value, revision: Number(r.json['header']['revision']) });
      else await new Promise((res) => setTimeout(res, 10)); // member died or no leader yet: not acknowledged
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

async function checkAcked(s: ProcessSlot, acked: Map<string, { value: string; revision: number }>): Promise<void> {
  const r = await callSlot(s, '/v3/kv/range', { key: 'AA==', range_end: 'AA==' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const found = new Map<string, { value: string; mod: number }>();
  for (const kv of r.json['kvs'] ?? []) found.set(Buffer.from(kv.key, 'base64').toString(), { value: Buffer.from(kv.value, 'base64').toString(), mod: Number(kv.mod_revision) });
  for (const [key, a] of acked) {
    const f = found.get(key);
    assert.ok(f, `acknowledged ${key} is missing on ${s.name}`);
    assert.equal(f.value, a.value);
    assert.equal(f.mod, a.revision, `${key} kept the revision its acknowledgement named`);
  }
  const revisions = [...acked.values()].map((a) => a.revision);
  assert.equal(new Set(revisions).size, revisions.length, 'L3 no revision was handed out twice');
}

test('L3 with peer mTLS: three secure keyward serve processes, kill -9 of the leader under load, no acknowledged write lost', { timeout: 120_000 }, async () => {
  const dir = makeTmpDir('keyward-tls-l3-');
  const ss = await processSlots(3, dir, 'p', { secure: true, peerScheme: 'https' });
  try {
    await startSlots(ss, 'tls-fault');
    for (const s of ss) {
      const started = s.proc!.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e['msg'] === 'peer transport started');
      assert.deepEqual(started?.['urls'], [s.peerUrl], `${s.name} listens for peers on https only`);
    }
    // The peer port takes peer certificates only: root's client certificate fails the handshake.
    const L = new CertStore(ss[0]!.certsDir!).layout;
    const asRoot = await rawTls(ss[0]!.peerUrl, '/raft/stream', {}, [], certOptions(L.client('root').cert, L.client('root').key, L.peerCa.cert));
    assert.equal(asRoot.status, 0);

    const acked = new Map<string, { value: string; revision: number }>();
    const l = load(ss, acked);
    while (acked.size < 100) await new Promise((r) => setTimeout(r, 20));
    const old = await leaderSlot(ss);
    await killSlot(ss[old]!);
    const before = acked.size;
    const deadline = Date.now() + 20_000;
    while (acked.size < before + 100) {
      assert.ok(Date.now() < deadline, 'writes resume under a new leader');
      await new Promise((r) => setTimeout(r, 20));
    }
    const lead = await leaderSlot(ss);
    assert.notEqual(lead, old);
    await l.stop();
    await startSlots(ss, 'tls-fault', { which: [old] });
    // The restarted old leader reconnects over mTLS and converges.
    const last = [...acked.keys()].at(-1)!;
    const until = Date.now() + 20_000;
    for (;;) {
      const r = await callSlot(ss[old]!, '/v3/kv/range', { key: b64s(last), serializable: true }).catch(() => undefined);
      if (r?.status === 200 && (r.json['kvs'] ?? []).length === 1) break;
      assert.ok(Date.now() < until, 'the old leader catches up');
      await new Promise((res) => setTimeout(res, 50));
    }
    for (const s of ss) await checkAcked(s, acked);
    // Nobody was refused on the peer port along the way.
    for (const s of ss) {
      const refused = s.proc!.logs.filter((line) => /"msg":"(refused peer request|dropping inbound stream)"/.test(line) && /IdentityMismatch|PeerCertificate/.test(line));
      assert.deepEqual(refused, [], `${s.name} refused no member`);
    }
  } finally {
    await killSlots(ss);
    dir.cleanup();
  }
});

test('keyward serve: peer TLS that cannot work is refused at start (exit 2), before the data dir is created', { timeout: 60_000 }, async () => {
  const dir = makeTmpDir('keyward-tls-peer-flags-');
  try {
    const certs = dir.sub('certs');
    new CertStore(certs).init(['p0'], TEST_HOSTS);
    const clientPort = await freePort();
    const peerPort = await freePort();
    const base = (dataDir: string): string[] => [
      'serve', '--name', 'p0', '--certs-dir', certs, '--data-dir', dataDir,
      '--listen-client-urls', `https://127.0.0.1:${clientPort}`, '--advertise-client-urls', `https://127.0.0.1:${clientPort}`,
      '--listen-peer-urls', `https://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `https://127.0.0.1:${peerPort}`,
      '--initial-cluster', `p0=https://127.0.0.1:${peerPort}`,
    ];
    const noAuth = await runKeyward([...base(dir.sub('d1')), '--peer-client-cert-auth=false']);
    assert.equal(noAuth.code, 2, noAuth.stderr);
    assert.match(noAuth.stderr, /--peer-client-cert-auth=false: Keyward always verifies peer certificates/);
    assert.equal(existsSync(dir.sub('d1')), false);
    // A peer certificate that is not there (a member the certs dir has no files for).
    const missing = await runKeyward([...base(dir.sub('d2')), '--peer-cert-file', dir.sub('nope.crt'), '--peer-key-file', dir.sub('nope.key')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /peer port TLS \(--peer-cert-file .*nope\.crt/);
    assert.equal(existsSync(dir.sub('d2')), false);
  } finally {
    dir.cleanup();
  }
});
