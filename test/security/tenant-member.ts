// A secure in-process member for the tenant edge tests: a real KeywardServer on real LMDB behind a
// real https listener with mutual TLS (identity from the verified client certificate, a tenant
// from its O attribute), certificates from our own CertStore, the api's tenant clock injected and
// its error log captured. Tenant principals are certificates issued with CertStore.issueClient(user, tenant).
import { mkdtempSync, rmSync } from 'node:fs';
import { request, createServer, type Server } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApi } from '../../src/api/index.js';
import { ensureTokenKey, tokenKeyPath } from '../../src/cli/certs-commands.js';
import { KeywardServer } from '../../src/server/index.js';
import { CertStore, TlsReloader, identityFromSocket, type IdentityPolicy } from '../../src/tls/index.js';
import { TEST_HOSTS } from '../harness/certs.js';
import { tlsConnection, tlsPost, type TlsAnswer } from '../harness/tls-client.js';
import { Inbox, type Json } from '../watch/api-client.js';

export const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
export const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('latin1');

export interface TenantMember {
  url: string;
  store: CertStore;
  server: KeywardServer;
  /** The api's tenant clock (ms); tests move it. */
  clock: { now: number };
  /** What the api logged as internal failures. */
  errors: Array<{ obj: object; msg: string }>;
  /** A caller presenting the certificate of `user` (of `tenant`, when given). */
  as(user: string, tenant?: string): Caller;
  root: Caller;
  dispose(): Promise<void>;
}

export interface Caller {
  conn: ConnectionOptions;
  call(path: string, body: unknown): Promise<TlsAnswer>;
  /** A 200 answer's JSON (throws otherwise). */
  ok(path: string, body: unknown): Promise<Json>;
  watch(): TlsWatch;
}

export async function startTenantMember(opts: { authBootstrap?: boolean } = {}): Promise<TenantMember> {
  const root = mkdtempSync(join(tmpdir(), 'keyward-tenant-edge-'));
  const certsDir = join(root, 'certs');
  const store = new CertStore(certsDir);
  const init = store.init(['m1'], TEST_HOSTS);
  ensureTokenKey(certsDir);
  const maxRequestBytes = 1572864;
  const server = await KeywardServer.open({
    name: 'm1',
    dataDir: join(root, 'data'),
    advertisePeerUrls: ['http://127.0.0.1:2380'],
    clusterToken: 'tenant-edge',
    maxRequestBytes,
    maxTxnOps: 128,
    authTokenKeyFile: tokenKeyPath(certsDir),
    authBootstrap: opts.authBootstrap ?? false,
  });
  await server.ready();
  const member = store.layout.member('m1');
  const tls = new TlsReloader({ certFile: member.server.cert, keyFile: member.server.key, caFile: store.layout.clientCa.cert, watch: false });
  const policy: IdentityPolicy = { expect: 'client', issuers: () => tls.cas, revocation: tls.revocation };
  const clock = { now: 1_000_000 };
  const errors: Array<{ obj: object; msg: string }> = [];
  const api = createApi(server, {
    maxRequestBytes,
    logger: { error: (obj, msg) => void errors.push({ obj, msg }) },
    tenantClock: () => clock.now,
    clientIdentity: (req) => {
      const id = identityFromSocket(req.socket, policy);
      if (id.kind !== 'client') return undefined;
      return id.tenant === undefined ? { user: id.user } : { user: id.user, tenant: id.tenant };
    },
  });
  const https: Server = createServer(tls.serverOptions(), api.listener);
  https.on('upgrade', api.upgrade);
  const detach = tls.attach(https);
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  const url = `https://localhost:${(https.address() as AddressInfo).port}`;
  const ca = store.layout.clientCa.cert;
  const caller = (files: { cert: string; key: string }): Caller => {
    const conn = tlsConnection({ ca, cert: files.cert, key: files.key });
    return {
      conn,
      call: (path, body) => tlsPost(url, path, body, conn),
      async ok(path, body) {
        const r = await tlsPost(url, path, body, conn);
        if (r.status !== 200) throw new Error(`${path} ${JSON.stringify(body)} -> ${r.status} ${r.text}`);
        return r.json;
      },
      watch: () => new TlsWatch(url, conn),
    };
  };
  const issued = new Map<string, Caller>();
  return {
    url,
    store,
    server,
    clock,
    errors,
    root: caller(init.admin),
    as(user, tenant) {
      const k = `${user}@${tenant ?? ''}`;
      let c = issued.get(k);
      if (c === undefined) {
        c = caller(store.issueClient(user, tenant));
        issued.set(k, c);
      }
      return c;
    },
    async dispose() {
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
      detach();
      await tls.close();
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A streaming POST over TLS (watch, lease keep-alive): request objects out as JSON lines, one
 * JSON object per response line in.
 */
export class TlsJsonStream {
  readonly lines = new Inbox<Json>();
  readonly response: Promise<{ status: number; text: () => string }>;
  /** Settles when the response has ended or the connection closed. */
  readonly finished: Promise<void>;
  protected readonly req: ClientRequest;

  constructor(url: string, path: string, conn: ConnectionOptions, headers: Record<string, string> = {}) {
    const u = new URL(path, url);
    this.req = request({ ...conn, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } });
    let finish!: () => void;
    this.finished = new Promise((r) => (finish = r));
    const done = (): void => {
      this.lines.end();
      finish();
    };
    this.req.on('error', done);
    this.response = new Promise((resolve) => {
      this.req.on('response', (res) => {
        res.setEncoding('utf8');
        let buf = '';
        let all = '';
        res.on('data', (c: string) => {
          all += c;
          buf += c;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line !== '') this.lines.push(JSON.parse(line) as Json);
          }
        });
        res.on('end', done);
        res.on('close', done);
        resolve({ status: res.statusCode ?? 0, text: () => all });
      });
    });
    this.req.flushHeaders();
  }

  /** The next line's `result` (throws on any other line). */
  protected async nextResult(ms: number, what: string): Promise<Json> {
    const l = await this.lines.next(ms, what);
    if (l['result'] === undefined) throw new Error(`not a result line: ${JSON.stringify(l)}`);
    return l['result'] as Json;
  }
}

/** A POST /v3/watch stream over TLS: request objects out, `{"result":…}` lines in. */
export class TlsWatch extends TlsJsonStream {
  constructor(url: string, conn: ConnectionOptions) {
    super(url, '/v3/watch', conn);
  }

  send(req: Json): this {
    this.req.write(JSON.stringify(req) + '\n');
    return this;
  }

  next(ms = 5000): Promise<Json> {
    return this.nextResult(ms, 'a watch response');
  }

  close(): void {
    this.req.destroy();
  }
}
