import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import request from 'supertest';
import { WebSocket } from 'ws';
import { createApi, HttpListener } from '../../src/api/index.js';
import { b64, call, login, ok, startAuthMember, type AuthedMember, type Json } from './helpers.js';

// GUARANTEES A20 (browser attacks; CVE-2018-1098/1099) against a real member over real sockets:
// browser-only signals (Origin, Sec-Fetch-Site) are refused on every route, a form or text/plain
// body from a browser gets 415, a Host header naming a host the member does not serve is refused
// (DNS rebinding), nothing ever answers with CORS headers, and cookies carry no authority; while
// etcd's own curl examples (JSON sent as application/x-www-form-urlencoded) keep working.

const BROWSER = { status: 403, body: { error: 'keyward: browser requests are refused (Origin or Sec-Fetch-Site header present)', message: 'keyward: browser requests are refused (Origin or Sec-Fetch-Site header present)', code: 7 } };
const FORM_MSG = 'keyward: browser form and text/plain requests are refused';
const FORM = { status: 415, body: { error: FORM_MSG, message: FORM_MSG, code: 7 } };
const HOST_MSG = 'keyward: the Host header names a host this member does not serve (DNS rebinding defence; see --host-whitelist)';
const HOST = { status: 403, body: { error: HOST_MSG, message: HOST_MSG, code: 7 } };

const EVIL = 'https://evil.example';

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Json | undefined;
}

/** One request with exactly the headers given (Host included, when given). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: Json | undefined;
        try {
          json = JSON.parse(text) as Json;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function noCors(r: Raw, what: string): void {
  const cors = Object.keys(r.headers).filter((h) => h.startsWith('access-control-'));
  assert.deepEqual(cors, [], `${what}: no CORS headers`);
}

/** A WebSocket upgrade of GET /v3/watch; resolves with the HTTP answer when it is refused. */
function wsAttempt(url: string, opts: { origin?: string; host?: string }): Promise<{ opened: boolean; status?: number; json?: Json }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v3/watch', {
      ...(opts.origin !== undefined ? { origin: opts.origin } : {}),
      ...(opts.host !== undefined ? { headers: { host: opts.host } } : {}),
    });
    ws.on('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ opened: false, status: res.statusCode ?? 0, json: JSON.parse(text) as Json }));
    });
    ws.on('error', () => undefined);
  });
}

let m: AuthedMember;
let url: string;
let root: string;
const extra: HttpListener[] = [];

async function valueOf(key: string): Promise<{ value?: string; revision: number }> {
  const r = await ok(url, '/v3/kv/range', { key: b64(key) }, root);
  const kv = (r['kvs'] as Json[] | undefined)?.[0];
  return { ...(kv !== undefined ? { value: Buffer.from(String(kv['value'] ?? ''), 'base64').toString() } : {}), revision: Number(r['header']['revision']) };
}

/** Another listener on the same member with its own host policy. */
async function listenWith(policy: { hostWhitelist?: string[]; clientUrls?: string[] }): Promise<string> {
  const api = createApi(m.server, { maxRequestBytes: 1572864, logger: { error: () => {} }, ...policy });
  const l = await HttpListener.listen(api, 'http://127.0.0.1:0');
  extra.push(l);
  return l.url;
}

before(async () => {
  m = await startAuthMember();
  url = m.url;
  await ok(url, '/v3/auth/user/add', { name: 'root', password: 'root-secret-pw' });
  await ok(url, '/v3/auth/role/add', { name: 'root' });
  await ok(url, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await ok(url, '/v3/auth/enable', {});
  root = await login(url, 'root', 'root-secret-pw');
  await ok(url, '/v3/kv/put', { key: b64('k'), value: b64('v0') }, root);
});
after(async () => {
  await Promise.all(extra.map((l) => l.close()));
  await m?.dispose();
});

describe('A20 etcd compatibility: non-browser clients are served whatever the content type', () => {
  test("etcd's curl example (JSON as application/x-www-form-urlencoded, no Origin) works", async () => {
    const put = await raw(url, 'POST', '/v3/kv/put', { 'content-type': 'application/x-www-form-urlencoded', authorization: root }, JSON.stringify({ key: b64('curl'), value: b64('bar') }));
    assert.equal(put.status, 200, put.text);
    assert.equal((await valueOf('curl')).value, 'bar');
    const txt = await raw(url, 'POST', '/v3/kv/range', { 'content-type': 'text/plain', authorization: root }, JSON.stringify({ key: b64('curl') }));
    assert.equal(txt.status, 200, txt.text);
    noCors(put, 'put');
  });

  test('Sec-Fetch-Site: none (a URL typed in the address bar) is served', async () => {
    const r = await raw(url, 'GET', '/version', { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' });
    assert.equal(r.status, 200);
    assert.equal(r.json?.['etcdserver'], '3.4.0');
  });
});

describe('A20 browser signals are refused on every route, before anything runs', () => {
  const routes: { method: string; path: string; body?: Json }[] = [
    { method: 'POST', path: '/v3/kv/put', body: { key: b64('k'), value: b64('from-browser') } },
    { method: 'POST', path: '/v3beta/kv/put', body: { key: b64('k'), value: b64('from-browser') } },
    { method: 'POST', path: '/v3/kv/range', body: { key: b64('k') } },
    { method: 'POST', path: '/v3/kv/deleterange', body: { key: b64('k') } },
    { method: 'POST', path: '/v3/kv/txn', body: { success: [{ request_put: { key: b64('k'), value: b64('x') } }] } },
    { method: 'POST', path: '/v3/auth/authenticate', body: { name: 'root', password: 'root-secret-pw' } },
    { method: 'POST', path: '/v3/auth/user/add', body: { name: 'mallory', password: 'mallory-pw-123' } },
    { method: 'POST', path: '/v3/lease/grant', body: { TTL: 60 } },
    { method: 'POST', path: '/v3/watch', body: { create_request: { key: b64('k') } } },
    { method: 'GET', path: '/v3/watch' },
    { method: 'GET', path: '/health' },
    { method: 'GET', path: '/version' },
    { method: 'GET', path: '/no/such/path' },
  ];

  test('Origin (any value, even "null" or this member\'s own origin): 403 code 7, nothing changed', async () => {
    const before = await valueOf('k');
    for (const origin of [EVIL, 'null', url]) {
      for (const r of routes) {
        const headers: Record<string, string> = { origin, authorization: root };
        if (r.method === 'GET' && r.path === '/v3/watch') headers['accept'] = 'text/event-stream';
        if (r.body !== undefined) headers['content-type'] = 'application/json';
        const got = await raw(url, r.method, r.path, headers, r.body !== undefined ? JSON.stringify(r.body) : undefined);
        assert.deepEqual({ status: got.status, body: got.json }, BROWSER, `${origin} ${r.method} ${r.path}`);
        noCors(got, `${r.method} ${r.path}`);
      }
    }
    assert.deepEqual(await valueOf('k'), before);
    const users = await ok(url, '/v3/auth/user/list', {}, root);
    assert.deepEqual(users['users'], ['root']);
  });

  test('Sec-Fetch-Site cross-site, same-site and same-origin (a page under a rebound name) without Origin: 403', async () => {
    for (const site of ['cross-site', 'same-site', 'same-origin']) {
      for (const r of routes) {
        const headers: Record<string, string> = { 'sec-fetch-site': site, authorization: root };
        if (r.body !== undefined) headers['content-type'] = 'application/json';
        const got = await raw(url, r.method, r.path, headers, r.body !== undefined ? JSON.stringify(r.body) : undefined);
        assert.deepEqual({ status: got.status, body: got.json }, BROWSER, `${site} ${r.method} ${r.path}`);
      }
    }
    assert.equal((await valueOf('k')).value, 'v0');
  });

  test('a browser form or text/plain POST (no preflight needed cross-site) is 415, nothing changed', async () => {
    const before = await valueOf('k');
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'TEXT/PLAIN']) {
      for (const path of ['/v3/kv/put', '/v3/watch', '/v3/auth/user/add']) {
        const got = await raw(url, 'POST', path, { origin: EVIL, 'content-type': type, authorization: root }, JSON.stringify({ key: b64('k'), value: b64('form') }));
        assert.deepEqual({ status: got.status, body: got.json }, FORM, `${type} ${path}`);
      }
    }
    assert.deepEqual(await valueOf('k'), before);
  });

  test('a WebSocket upgrade with Origin is refused before the handshake; without, it opens', async () => {
    assert.deepEqual(await wsAttempt(url, { origin: EVIL }), { opened: false, status: 403, json: BROWSER.body });
    assert.deepEqual(await wsAttempt(url, { origin: url }), { opened: false, status: 403, json: BROWSER.body });
    // Auth is on: the WebSocket without a credential gets etcd's error, but past the guard.
    const plain = await wsAttempt(url, {});
    assert.equal(plain.json?.['message'], 'etcdserver: user name is empty');
  });

  test('the express app alone (the door supertest uses) is guarded too', async () => {
    const api = createApi(m.server, { maxRequestBytes: 1572864, logger: { error: () => {} } });
    const got = await request(api.app).post('/v3/kv/range').set('Origin', EVIL).set('Content-Type', 'application/json').send({ key: b64('k') });
    assert.deepEqual({ status: got.status, body: got.body as Json }, BROWSER);
  });
});

describe('A20 no CORS', () => {
  test('a preflight is refused and grants nothing; an OPTIONS without Origin gets no allow headers either', async () => {
    for (const path of ['/v3/kv/put', '/v3/watch', '/v3/auth/authenticate', '/health']) {
      const pre = await raw(url, 'OPTIONS', path, { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' });
      assert.deepEqual({ status: pre.status, body: pre.json }, BROWSER, path);
      noCors(pre, `preflight ${path}`);
      const plain = await raw(url, 'OPTIONS', path, {});
      noCors(plain, `OPTIONS ${path}`);
      assert.notEqual(plain.status, 204);
    }
  });

  test('successful and failed answers carry no Access-Control-* header', async () => {
    noCors(await raw(url, 'POST', '/v3/kv/range', { authorization: root }, JSON.stringify({ key: b64('k') })), 'range');
    noCors(await raw(url, 'POST', '/v3/kv/range', {}, JSON.stringify({ key: b64('k') })), 'range without credential');
    noCors(await raw(url, 'GET', '/health', {}), 'health');
  });
});

describe('A20 cookies carry no ambient authority', () => {
  test('a valid token in a Cookie is not a credential; a Cookie alongside a real one is harmless', async () => {
    for (const cookie of [`token=${root}`, `authorization=${root}`, root]) {
      const got = await raw(url, 'POST', '/v3/kv/range', { cookie }, JSON.stringify({ key: b64('k') }));
      assert.deepEqual({ status: got.status, body: got.json }, { status: 400, body: { error: 'etcdserver: user name is empty', message: 'etcdserver: user name is empty', code: 3 } });
    }
    const withBoth = await raw(url, 'POST', '/v3/kv/range', { cookie: 'AWSALB=sticky', authorization: root }, JSON.stringify({ key: b64('k') }));
    assert.equal(withBoth.status, 200);
    assert.equal(withBoth.headers['set-cookie'], undefined);
  });
});

describe('A20 Host allowlist (DNS rebinding, CVE-2018-1099)', () => {
  test('default: IP literals, localhost and no Host at all are served; any other name is refused, nothing changed', async () => {
    const port = new URL(url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `[::1]:${port}`, '10.1.2.3', 'localhost']) {
      const got = await raw(url, 'GET', '/health', { host });
      assert.equal(got.status, 200, `${host}: ${got.text}`);
    }
    const before = await valueOf('k');
    for (const host of [`evil.example:${port}`, 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', `[evil]:${port}`, ':2379']) {
      for (const [method, path, body] of [
        ['GET', '/health', undefined],
        ['POST', '/v3/kv/put', JSON.stringify({ key: b64('k'), value: b64('rebound') })],
        ['POST', '/v3/kv/range', JSON.stringify({ key: b64('k') })],
      ] as const) {
        const got = await raw(url, method, path, { host, authorization: root }, body);
        assert.deepEqual({ status: got.status, body: got.json }, HOST, `${host} ${path}`);
      }
    }
    assert.deepEqual(await valueOf('k'), before);
    assert.deepEqual(await wsAttempt(url, { host: `evil.example:${port}` }), { opened: false, status: 403, json: HOST.body });
  });

  test('HTTP/1.0 without a Host header is served (browsers always send one)', async () => {
    const u = new URL(url);
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname);
      let t = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (t += d));
      s.on('end', () => resolve(t));
      s.on('error', reject);
      s.write('GET /version HTTP/1.0\r\n\r\n');
    });
    assert.match(text, /^HTTP\/1\.1 200 /);
  });

  test('hostWhitelist (etcd --host-whitelist) and the client URL hosts are accepted; "*" accepts any', async () => {
    const listed = await listenWith({ hostWhitelist: ['db.example.com', 'KW.Example.'], clientUrls: ['https://kw-1.internal:2379', 'http://[fd00::1]:2379'] });
    for (const host of ['db.example.com:2379', 'kw.example', 'kw-1.internal:443', 'KW-1.INTERNAL']) {
      assert.equal((await raw(listed, 'GET', '/health', { host })).status, 200, host);
    }
    for (const host of ['evil.example', 'example.com', 'internal']) {
      assert.deepEqual({ status: (await raw(listed, 'GET', '/health', { host })).status }, { status: 403 }, host);
    }
    const any = await listenWith({ hostWhitelist: ['*'] });
    assert.equal((await raw(any, 'GET', '/health', { host: 'evil.example' })).status, 200);
    // "*" lifts only the Host check: browser signals are still refused.
    const browser = await raw(any, 'GET', '/health', { host: 'evil.example', origin: EVIL });
    assert.deepEqual({ status: browser.status, body: browser.json }, BROWSER);
  });

  test('a client URL that is not a URL is a TypeError at createApi', () => {
    assert.throws(() => createApi(m.server, { maxRequestBytes: 1572864, logger: { error: () => {} }, clientUrls: ['not a url'] }), TypeError);
  });
});

describe('A20 helpers used elsewhere still work through the guard', () => {
  test('Node fetch (sends Sec-Fetch-Mode: cors but no Origin or Sec-Fetch-Site) is served', async () => {
    const r = await call(url, '/v3/kv/range', { key: b64('k') }, root);
    assert.equal(r.status, 200, r.text);
  });
});
