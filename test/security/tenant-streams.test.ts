import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ConnectionOptions } from 'node:tls';
import { decodeTenantResponse } from '../../src/wire/index.js';
import { TlsJsonStream, b64, startTenantMember, type Caller, type TenantMember } from './tenant-member.js';
import type { Json } from '../watch/api-client.js';

// A tenant's open streams on a real secure member with auth on (the secure default: root bound to
// the administrator's certificate): the keep-alive stream limit (maxStreams counts keep-alive
// streams as it counts watch streams; docs/tenancy-plan.md, "Edge limits") and the `open` counts
// of /v1/tenants/get. Principals are client certificates with O=<tenant>, plus one token login.
// Every refusal is compared with the whole answer (status, gRPC code, message).

const PW = 'tenant-secret-pw';
const STREAM_LIMIT = { error: 'keyward: tenant stream limit reached', message: 'keyward: tenant stream limit reached', code: 8 };
const DENIED = { error: 'etcdserver: permission denied', message: 'etcdserver: permission denied', code: 7 };

let m: TenantMember;
let root: Caller;
/** ka: maxStreams 3. kb: maxStreams 1. */
let kaApp: Caller;
let kaAdmin: Caller;
let kbApp: Caller;
let kaLease: string;
let kbLease: string;

/** A POST /v3/lease/keepalive stream over TLS: one request object per renewal, one result line back. */
class KeepAlive extends TlsJsonStream {
  constructor(url: string, conn: ConnectionOptions, headers: Record<string, string> = {}) {
    super(url, '/v3/lease/keepalive', conn, headers);
  }

  /** Renews `id` through the stream: its result (ID and TTL). */
  async renew(id: string): Promise<Json> {
    this.req.write(JSON.stringify({ ID: id }) + '\n');
    return this.nextResult(5000, 'a keep-alive response');
  }

  /** Ends the request body: the member answers what is pending and ends the stream. */
  async end(): Promise<void> {
    this.req.end();
    await this.finished;
  }

  /** Drops the connection without ending anything. */
  drop(): void {
    this.req.destroy();
  }
}

const keepAlive = (c: Caller, headers: Record<string, string> = {}): KeepAlive => new KeepAlive(m.url, c.conn, headers);

/** A stream that must be refused at once: its whole answer. */
async function refusedStream(s: KeepAlive): Promise<{ status: number; json: unknown }> {
  const res = await s.response;
  await s.finished;
  return { status: res.status, json: JSON.parse(res.text()) as unknown };
}

/** An accepted stream renews `lease`: the result names it with its full TTL. */
async function renews(s: KeepAlive, lease: string): Promise<void> {
  const r = await s.renew(lease);
  assert.equal((await s.response).status, 200);
  assert.deepEqual([r['ID'], r['TTL']], [lease, '60']);
}

async function openOf(c: Caller, id: string): Promise<Json> {
  return (await c.ok('/v1/tenants/get', { id }))['tenant']['open'] as Json;
}

/**
 * Waits until this member counts `streams` open streams of `id` (it notices a dropped connection
 * when the socket closes, after the client let go). Each look is a real request: no sleeping.
 */
async function untilStreams(id: string, streams: number): Promise<void> {
  let seen: Json = {};
  for (let i = 0; i < 200; i++) {
    seen = await openOf(root, id);
    if (seen['streams'] === String(streams)) return;
  }
  assert.fail(`tenant ${id}: still ${JSON.stringify(seen)} open, waiting for ${streams} streams`);
}

before(async () => {
  m = await startTenantMember({ authBootstrap: true });
  root = m.root;
  await root.ok('/v1/tenants/create', { id: 'ka', quotas: { max_streams: 3 } });
  await root.ok('/v1/tenants/create', { id: 'kb', quotas: { max_streams: 1 } });
  await root.ok('/v3/auth/user/add', { name: 'app', password: PW, tenant: 'ka' });
  await root.ok('/v3/auth/user/add', { name: 'admin', password: PW, tenant: 'ka' });
  await root.ok('/v3/auth/user/grant', { user: 'admin', role: 'root', tenant: 'ka' });
  // app may watch its whole tenant ("\0" to "\0" stops at the tenant's edge).
  await root.ok('/v3/auth/role/add', { name: 'reader', tenant: 'ka' });
  await root.ok('/v3/auth/role/grant', { name: 'reader', perm: { permType: 'READ', key: b64('\0'), range_end: b64('\0') }, tenant: 'ka' });
  await root.ok('/v3/auth/user/grant', { user: 'app', role: 'reader', tenant: 'ka' });
  await root.ok('/v3/auth/user/add', { name: 'app', password: PW, tenant: 'kb' });
  kaApp = m.as('app', 'ka');
  kaAdmin = m.as('admin', 'ka');
  kbApp = m.as('app', 'kb');
  kaLease = (await kaApp.ok('/v3/lease/grant', { TTL: 60 }))['ID'] as string;
  kbLease = (await kbApp.ok('/v3/lease/grant', { TTL: 60 }))['ID'] as string;
});
after(async () => {
  await m?.dispose();
});

describe('keep-alive streams under maxStreams', () => {
  test('exactly the limit is served, one more is 429/8 "stream limit reached" (a watch stream too); another tenant is not affected', async () => {
    const open = [keepAlive(kaApp), keepAlive(kaApp), keepAlive(kaApp)];
    for (const s of open) await renews(s, kaLease);
    // Each stream still renews after the others opened.
    for (const s of open) await renews(s, kaLease);

    assert.deepEqual(await refusedStream(keepAlive(kaApp)), { status: 429, json: STREAM_LIMIT });
    // The tenant's administrator is the same tenant: the limit is the tenant's, not the user's.
    assert.deepEqual(await refusedStream(keepAlive(kaAdmin)), { status: 429, json: STREAM_LIMIT });
    // Watch and keep-alive streams share the limit, refused alike.
    const w = kaApp.watch().send({ create_request: { key: b64('a') } });
    const wr = await w.response;
    assert.deepEqual({ status: wr.status, json: JSON.parse(wr.text()) as unknown }, { status: 429, json: STREAM_LIMIT });
    w.close();

    // kb at the same moment: its one stream is served, and the cluster administrator is never limited.
    const other = keepAlive(kbApp);
    await renews(other, kbLease);
    const admin = keepAlive(root);
    await renews(admin, kaLease);
    assert.deepEqual(await refusedStream(keepAlive(kbApp)), { status: 429, json: STREAM_LIMIT });

    // The refusals took nothing: ka still holds exactly its three.
    assert.equal((await openOf(root, 'ka'))['streams'], '3');
    for (const s of [...open, other, admin]) await s.end();
    await untilStreams('ka', 0);
    await untilStreams('kb', 0);
  });

  test('a stream that ends gives its slot back, and so does one whose client just drops the connection', async () => {
    const open = [keepAlive(kaApp), keepAlive(kaApp), keepAlive(kaApp)];
    for (const s of open) await renews(s, kaLease);
    assert.deepEqual(await refusedStream(keepAlive(kaApp)), { status: 429, json: STREAM_LIMIT });

    // Ended by the client: the body ends, the member ends the stream.
    await open[0]!.end();
    await untilStreams('ka', 2);
    const second = keepAlive(kaApp);
    await renews(second, kaLease);
    assert.deepEqual(await refusedStream(keepAlive(kaApp)), { status: 429, json: STREAM_LIMIT });

    // Dropped: the connection goes away mid-stream.
    open[1]!.drop();
    await untilStreams('ka', 2);
    const third = keepAlive(kaApp);
    await renews(third, kaLease);
    assert.deepEqual(await refusedStream(keepAlive(kaApp)), { status: 429, json: STREAM_LIMIT });

    // The streams left are unaffected by the others' going.
    await renews(open[2]!, kaLease);
    for (const s of [open[2]!, second, third]) s.drop();
    await untilStreams('ka', 0);
  });

  test('a client that drops while its token is being verified leaves no slot behind', async () => {
    const token = (await root.ok('/v3/auth/authenticate', { name: 'ka/app', password: PW }))['token'] as string;
    // With a token the stream is the token's user (ka/app), whatever certificate the connection has.
    const viaToken = keepAlive(root, { authorization: token });
    await renews(viaToken, kaLease);
    assert.equal((await openOf(root, 'ka'))['streams'], '1');
    await viaToken.end();
    await untilStreams('ka', 0);

    // The request's headers and then the connection's end arrive while the member verifies the
    // token off the event loop: the stream must not take a slot it can never give back.
    const u = new URL(m.url);
    const head = `POST /v3/lease/keepalive HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve, reject) => {
        const sock = connect({ ...root.conn, host: u.hostname, port: Number(u.port), servername: u.hostname }, () => {
          sock.write(head, () => {
            sock.destroy();
            resolve();
          });
        });
        sock.on('error', reject);
      });
    }
    await untilStreams('ka', 0);
    // And all three slots can be taken again.
    const again = [keepAlive(kaApp), keepAlive(kaApp), keepAlive(kaApp)];
    for (const s of again) await renews(s, kaLease);
    for (const s of again) await s.end();
    await untilStreams('ka', 0);
  });
});

describe('open streams and watchers in /v1/tenants/get', () => {
  test('counts go up as streams and watchers open and down as they close; member names this member', async () => {
    const first = await kaAdmin.ok('/v1/tenants/get', { id: 'ka' });
    assert.deepEqual(first['tenant']['open'], { streams: '0', watchers: '0', member: BigInt(first['header']['member_id'] as string).toString(16) });

    const w = kaApp.watch().send({ create_request: { key: b64('a') } });
    const a = await w.next();
    w.send({ create_request: { key: b64('b'), range_end: b64('c') } });
    const b = await w.next();
    for (const c of [a, b]) assert.deepEqual([c['created'], c['canceled']], [true, undefined]);
    const ka = keepAlive(kaApp);
    await renews(ka, kaLease);
    assert.deepEqual(await openOf(kaAdmin, 'ka'), { ...first['tenant']['open'], streams: '2', watchers: '2' });
    // Nothing of ka shows in kb's counts.
    assert.deepEqual(await openOf(kbApp, 'kb'), { ...first['tenant']['open'], streams: '0', watchers: '0' });

    w.send({ cancel_request: { watch_id: a['watch_id'] ?? '0' } });
    assert.equal((await w.next())['canceled'], true);
    assert.deepEqual(await openOf(kaAdmin, 'ka'), { ...first['tenant']['open'], streams: '2', watchers: '1' });

    await ka.end();
    w.close();
    await untilStreams('ka', 0);
    assert.deepEqual(await openOf(kaAdmin, 'ka'), { ...first['tenant']['open'], streams: '0', watchers: '0' });
  });

  test('A21: a tenant reads its own counts (administrator or not), the cluster administrator any; another tenant is refused as for get; list has none', async () => {
    const ka = keepAlive(kaApp);
    await renews(ka, kaLease);
    for (const c of [kaAdmin, kaApp, root]) assert.equal((await openOf(c, 'ka'))['streams'], '1');
    // As the TypeScript client reads it.
    const got = await kaApp.ok('/v1/tenants/get', { id: 'ka' });
    assert.deepEqual(decodeTenantResponse(got).tenant.open, { streams: 1, watchers: 0, member: BigInt(got['header']['member_id'] as string).toString(16) });
    // kb's principal asking for ka: the plain permission denied of get, whether or not ka exists.
    for (const id of ['ka', 'nosuch']) {
      const r = await kbApp.call('/v1/tenants/get', { id });
      assert.deepEqual({ status: r.status, json: r.json }, { status: 403, json: DENIED });
    }
    const list = await root.ok('/v1/tenants/list', {});
    assert.deepEqual((list['tenants'] as Json[]).map((t) => [t['id'], 'open' in t]), [['ka', false], ['kb', false]]);
    await ka.end();
    await untilStreams('ka', 0);
  });
});
