// Lease keep-alive and time-to-live through a follower of a SECURE cluster: three `keyward serve`
// processes with TLS and client-certificate auth on the client port and mutual TLS on the peer
// port. Only the leader's lessor can answer, so a follower forwards — over the peer port's
// authenticated call channel (as etcd serves /leases on its peer listener), with the caller's
// principal; the leader re-checks the caller's rights (A5, A6) and its answer comes back as is.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { memberIdFor } from '../../src/server/index.js';
import { CertStore, certLayout, clientTlsOptions } from '../../src/tls/index.js';
import { TEST_HOSTS } from '../harness/certs.js';
import { killSlot, killSlots, leaderSlot, processSlots, startSlots, type ProcessSlot } from '../harness/process-cluster.js';
import { callTls, tlsPost, type ClientTlsFiles } from '../harness/tls-client.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import type { Json } from '../harness/cluster.js';

const dir = makeTmpDir('keyward-lease-fwd-tls-');
let ss: ProcessSlot[] = [];
let bob: ClientTlsFiles;
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const TOKEN = 'lease-fwd-tls';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  ss = await processSlots(3, dir, 'l', { secure: true });
  // bob: a certificate user with READWRITE on app/ only.
  const issued = new CertStore(ss[0]!.certsDir!).issueClient('bob');
  bob = { ca: ss[0]!.tls!.ca, cert: issued.cert, key: issued.key };
  await startSlots(ss, TOKEN);
});
after(async () => {
  await killSlots(ss);
  dir.cleanup();
});

async function ok(s: ProcessSlot, path: string, body: unknown, files: ClientTlsFiles = s.tls!): Promise<Json> {
  const r = await callTls(s.clientUrl, path, body, files);
  assert.equal(r.status, 200, `${path} ${JSON.stringify(body)} on ${s.name} -> ${r.status} ${r.text}`);
  return r.json;
}

async function roles(): Promise<{ L: ProcessSlot; F: ProcessSlot }> {
  const lead = await leaderSlot(ss);
  return { L: ss[lead]!, F: ss[(lead + 1) % 3]! };
}

describe('lease calls through a follower of a secure cluster', () => {
  before(async () => {
    const { L } = await roles();
    await ok(L, '/v3/auth/role/add', { name: 'app' });
    await ok(L, '/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b64('app/'), range_end: b64('app0') } });
    await ok(L, '/v3/auth/user/add', { name: 'bob', options: { no_password: true } });
    await ok(L, '/v3/auth/user/grant', { user: 'bob', role: 'app' });
  });

  test('keep-alive (stream) and time-to-live with keys through a follower succeed for root', async () => {
    const { L, F } = await roles();
    await ok(L, '/v3/lease/grant', { TTL: 60, ID: 101 });
    await ok(L, '/v3/kv/put', { key: b64('secret/a'), value: b64('v'), lease: 101 });
    const started = Date.now();
    const ka = await callTls(F.clientUrl, '/v3/lease/keepalive', '{"ID":101}\n{"ID":101}', F.tls!);
    assert.equal(ka.status, 200, ka.text);
    const lines = ka.text.trim().split('\n').map((l) => JSON.parse(l) as Json);
    assert.equal(lines.length, 2, ka.text);
    for (const l of lines) assert.deepEqual([l['result']['ID'], l['result']['TTL']], ['101', '60'], ka.text);
    assert.ok(Date.now() - started < 3000, `answered at once, not after the request timeout: ${Date.now() - started} ms`);
    const t = await ok(F, '/v3/lease/timetolive', { ID: 101, keys: true });
    assert.equal(t['grantedTTL'], '60');
    assert.deepEqual(t['keys'], [b64('secret/a')]);
    // The answer is this member's (its header), not the leader's.
    assert.equal(t['header']['member_id'], (await ok(F, '/v3/maintenance/status', {}))['header']['member_id']);
  });

  test('A5/A6 through a follower the leader re-checks the caller: 403 without WRITE/READ on the lease\'s keys, served with them', async () => {
    const { L, F } = await roles();
    await ok(L, '/v3/lease/grant', { TTL: 60, ID: 201 });
    await ok(L, '/v3/kv/put', { key: b64('secret/b'), value: b64('v'), lease: 201 });
    for (const s of [F, L]) {
      const ka = await callTls(s.clientUrl, '/v3/lease/keepalive', '{"ID":201}', bob);
      assert.equal(ka.status, 403, `${s.name}: ${ka.text}`);
      assert.equal(ka.text.trim(), '{"error":{"grpc_code":7,"http_code":403,"message":"etcdserver: permission denied","http_status":"Forbidden"}}');
      const t = await callTls(s.clientUrl, '/v3/lease/timetolive', { ID: 201, keys: true }, bob);
      assert.deepEqual([t.status, t.json], [403, { error: 'etcdserver: permission denied', message: 'etcdserver: permission denied', code: 7 }], s.name);
    }
    // bob's own lease on app/ keys: served through the follower.
    await ok(F, '/v3/lease/grant', { TTL: 60, ID: 202 }, bob);
    await ok(F, '/v3/kv/put', { key: b64('app/b'), value: b64('v'), lease: 202 }, bob);
    const ka = await callTls(F.clientUrl, '/v3/lease/keepalive', '{"ID":202}', bob);
    assert.equal(ka.status, 200, ka.text);
    assert.equal((JSON.parse(ka.text.trim()) as Json)['result']['TTL'], '60');
    assert.deepEqual((await ok(F, '/v3/lease/timetolive', { ID: 202, keys: true }, bob))['keys'], [b64('app/b')]);
    // Nothing the refusals touched changed.
    assert.equal((await ok(L, '/v3/kv/range', { key: b64('secret/b') }))['count'], '1');
  });

  test('a definite answer from the leader comes back at once: a lease that does not exist is no retry until the timeout', async () => {
    const { F } = await roles();
    const started = Date.now();
    const ka = await callTls(F.clientUrl, '/v3/lease/keepalive', '{"ID":999}', F.tls!);
    assert.equal(ka.status, 200, ka.text);
    const line = JSON.parse(ka.text.trim()) as Json;
    assert.equal(line['result']['ID'], '999');
    assert.equal(line['result']['TTL'], undefined, 'etcd answers an unknown lease without TTL');
    assert.equal((await ok(F, '/v3/lease/timetolive', { ID: 999 }))['TTL'], '-1');
    assert.ok(Date.now() - started < 3000, `answered at once: ${Date.now() - started} ms`);
  });

  test('non-members cannot use the peer call channel: a user certificate or another cluster\'s peer CA gets no handshake; a member\'s peer certificate can, within the size cap', async () => {
    const { L } = await roles();
    const layout = certLayout(L.certsDir!);
    const leaderId = memberIdFor([L.peerUrl], TOKEN);
    const from = ss.find((s) => s !== L)!;
    const headers = (kind: string): Record<string, string> => ({
      'x-keyward-protocol': '1',
      'x-keyward-cluster-id': memberIdFor([], TOKEN).toString(16),
      'x-keyward-from': memberIdFor([from.peerUrl], TOKEN).toString(16),
      'x-keyward-to': leaderId.toString(16),
      'x-keyward-call': kind,
    });
    const body = JSON.stringify({ id: '101', principal: { user: 'root' } });
    const peerConn = (cert: string, key: string, ca = layout.peerCa.cert) =>
      clientTlsOptions({ cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), ca: readFileSync(ca, 'utf8'), servername: 'localhost' });
    // root's client certificate (client CA) on the peer port.
    await assert.rejects(tlsPost(L.peerUrl, '/keyward/call', body, peerConn(layout.client('root').cert, layout.client('root').key), headers('lease.renew')));
    // A member certificate of the same name from another cluster's `certs init`.
    const foreign = new CertStore(dir.sub('foreign-certs'));
    foreign.init([from.name], TEST_HOSTS);
    const fm = foreign.layout.member(from.name).peer;
    await assert.rejects(tlsPost(L.peerUrl, '/keyward/call', body, peerConn(fm.cert, fm.key), headers('lease.renew')));
    // The member's own peer certificate: the channel answers (the renewal of lease 101, as root).
    const own = layout.member(from.name).peer;
    const renewed = await tlsPost(L.peerUrl, '/keyward/call', body, peerConn(own.cert, own.key), headers('lease.renew'));
    assert.equal(renewed.status, 200, renewed.text);
    assert.deepEqual(renewed.json, { ok: 60 });
    // ... but another member's ID with it is refused, and an oversized request never reaches the handler.
    const other = ss.find((s) => s !== L && s !== from)!;
    const liar = await tlsPost(L.peerUrl, '/keyward/call', body, peerConn(own.cert, own.key), { ...headers('lease.renew'), 'x-keyward-from': memberIdFor([other.peerUrl], TOKEN).toString(16) });
    assert.equal(liar.status, 403, liar.text);
    assert.match(liar.text, /IdentityMismatch/);
    const big = await tlsPost(L.peerUrl, '/keyward/call', 'x'.repeat(100_000), peerConn(own.cert, own.key), headers('lease.renew'));
    assert.equal(big.status, 413, big.text);
    assert.match(big.text, /TooLarge: call of 100000 bytes exceeds 65536/);
  });

  test('L* a lease kept alive only through a follower does not expire, also across a kill -9 of the leader (renewals retried at the new leader)', { timeout: 90_000 }, async () => {
    const { L, F } = await roles();
    await ok(L, '/v3/lease/grant', { TTL: 3, ID: 301 });
    await ok(L, '/v3/kv/put', { key: b64('held'), value: b64('v'), lease: 301 });
    await ok(L, '/v3/lease/grant', { TTL: 3, ID: 302 });
    await ok(L, '/v3/kv/put', { key: b64('dropped'), value: b64('v'), lease: 302 });
    const survivor = ss.find((s) => s !== L && s !== F)!;
    const ttls: string[] = [];
    let stop = false;
    const renewer = (async () => {
      while (!stop) {
        const r = await callTls(F.clientUrl, '/v3/lease/keepalive', '{"ID":301}', F.tls!).catch((e: Error) => ({ status: 0, text: e.message }));
        ttls.push(r.status === 200 ? String((JSON.parse(r.text.trim().split('\n')[0]!) as Json)['result']['TTL']) : `status ${r.status}: ${r.text}`);
        await sleep(700);
      }
    })();
    await sleep(5000);
    assert.equal((await ok(survivor, '/v3/kv/range', { key: b64('dropped') }))['count'], undefined, 'the lease nobody renews expired');
    assert.equal((await ok(survivor, '/v3/kv/range', { key: b64('held') }))['count'], '1');
    await killSlot(L);
    await leaderSlot(ss);
    await sleep(6000); // twice the TTL under the new leader
    stop = true;
    await renewer;
    assert.equal((await ok(survivor, '/v3/kv/range', { key: b64('held') }))['count'], '1', `renewed through the follower across the leader change: ${ttls.join(',')}`);
    assert.ok(ttls.filter((t) => t === '3').length >= 10, `renewals went on: ${ttls.join(',')}`);
    assert.ok(ttls.every((t) => t === '3'), `every renewal answered with the TTL (the one in flight during the election was retried, not failed): ${ttls.join(',')}`);
  });
});
