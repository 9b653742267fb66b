// Helpers for the authorization tests: a member over a real socket with an audit log captured, and
// calls that carry a token. Every answer is compared with etcd 3.4's (API.md sections 4 and 10).
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Inbox, startWatchMember, type Json, type WatchMember } from '../watch/api-client.js';
import type { ServerOptions } from '../../src/server/index.js';

export { b64, unb64, type Json } from '../watch/api-client.js';

export interface AuthedMember extends WatchMember {
  audit: Json[];
}

export async function startAuthMember(opts: Partial<ServerOptions> = {}): Promise<AuthedMember> {
  const audit: Json[] = [];
  const m = await startWatchMember({ auditLogger: { info: (obj: object) => audit.push(obj as Json) }, ...opts });
  return Object.assign(m, { audit });
}

export interface Answer {
  status: number;
  json: Json;
  text: string;
}

export async function call(url: string, path: string, body: unknown, token?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const h: Record<string, string> = { ...headers };
  if (token !== undefined) h['authorization'] = token;
  const res = await fetch(url + path, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // not JSON: the test looks at text
  }
  return { status: res.status, json, text };
}

export async function ok(url: string, path: string, body: unknown, token?: string): Promise<Json> {
  const r = await call(url, path, body, token);
  assert.equal(r.status, 200, `${path} ${JSON.stringify(body)} -> ${r.status} ${r.text}`);
  return r.json;
}

/** etcd's error envelope exactly. */
export async function refused(url: string, path: string, body: unknown, token: string | undefined, status: number, code: number, message: string): Promise<void> {
  const r = await call(url, path, body, token);
  assert.deepEqual({ status: r.status, json: r.json }, { status, json: { error: message, message, code } }, `${path} ${JSON.stringify(body)}`);
}

export const DENIED = { status: 403, code: 7, message: 'etcdserver: permission denied' } as const;
export const BAD_TOKEN = { status: 401, code: 16, message: 'etcdserver: invalid auth token' } as const;
export const USER_EMPTY = { status: 400, code: 3, message: 'etcdserver: user name is empty' } as const;

export async function denied(url: string, path: string, body: unknown, token: string | undefined): Promise<void> {
  await refused(url, path, body, token, DENIED.status, DENIED.code, DENIED.message);
}

export async function login(url: string, name: string, password: string): Promise<string> {
  const r = await ok(url, '/v3/auth/authenticate', { name, password });
  assert.equal(typeof r['token'], 'string');
  return r['token'] as string;
}

/** A POST /v3/watch stream that carries a token. */
export class AuthedWatch {
  readonly lines = new Inbox<Json>();
  readonly response: Promise<IncomingMessage>;
  private readonly req: ClientRequest;

  constructor(url: string, token: string | undefined) {
    const u = new URL('/v3/watch', url);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token !== undefined) headers['authorization'] = token;
    this.req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers });
    this.req.on('error', () => this.lines.end());
    this.response = new Promise((resolve) => {
      this.req.on('response', (res) => {
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (c: string) => {
          buf += c;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line !== '') this.lines.push(JSON.parse(line) as Json);
          }
        });
        res.on('end', () => this.lines.end());
        res.on('close', () => this.lines.end());
        resolve(res);
      });
    });
    this.req.flushHeaders();
  }

  send(req: Json): this {
    this.req.write(JSON.stringify(req) + '\n');
    return this;
  }

  async next(ms = 5000): Promise<Json> {
    const l = await this.lines.next(ms, 'a watch response');
    if (l['result'] === undefined) throw new Error(`not a result line: ${JSON.stringify(l)}`);
    return l['result'] as Json;
  }

  close(): void {
    this.req.destroy();
  }
}
