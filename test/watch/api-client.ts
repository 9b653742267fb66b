// Clients for the watch API tests, over real sockets: a POST /v3/watch stream whose body stays open
// (requests sent one by one while responses are read), an SSE reader and a WebSocket client, plus
// a real single member on an ephemeral loopback port and small KV helpers.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createApi, HttpListener, type ListenOptions } from '../../src/api/index.js';
import { KeywardServer, type ServerOptions } from '../../src/server/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are checked field by field by the tests
export type Json = Record<string, any>;

export const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
export const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('latin1');

/** Waits for `p`, failing after `ms` with `what`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** A queue of items that arrive over time, read with a timeout. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  ended = false;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next item; rejects after `ms` or when the source ended with nothing left. */
  async next(ms = 5000, what = 'a message'): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) return item;
      if (this.ended) throw new Error(`the stream ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await within(new Promise<void>((r) => (this.waiter = r)), left, what).catch(() => undefined);
    }
  }

  /** Nothing arrives within `ms` (returns what did arrive, for the assertion message). */
  async quiet(ms: number): Promise<T[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.items.splice(0);
  }

  get pending(): number {
    return this.items.length;
  }
}

/** Parses a stream of newline-terminated JSON lines; `flush` takes a last line without newline. */
function lineParser(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let buf = '';
  return {
    push(chunk) {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim() !== '') onLine(line);
      }
    },
    flush() {
      if (buf.trim() !== '') onLine(buf);
      buf = '';
    },
  };
}

/** POST /v3/watch with a body that stays open: send() writes request objects as the test goes. */
export class PostWatch {
  readonly lines = new Inbox<Json>();
  /** Every line as received (text), for exact-format checks. */
  readonly raw: string[] = [];
  readonly response: Promise<IncomingMessage>;
  private readonly req: ClientRequest;

  constructor(url: string, path = '/v3/watch') {
    const u = new URL(path, url);
    this.req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'Content-Type': 'application/json' } });
    this.req.on('error', () => this.lines.end());
    this.response = new Promise((resolve) => {
      this.req.on('response', (res) => {
        res.setEncoding('utf8');
        const parse = lineParser((line) => {
          this.raw.push(line);
          this.lines.push(JSON.parse(line) as Json);
        });
        res.on('data', (c: string) => parse.push(c));
        res.on('end', () => {
          parse.flush();
          this.lines.end();
        });
        res.on('close', () => this.lines.end());
        resolve(res);
      });
    });
    this.req.flushHeaders();
  }

  /** Writes one request object (and a newline) or raw text. */
  send(req: Json | string): this {
    this.req.write(typeof req === 'string' ? req : JSON.stringify(req) + '\n');
    return this;
  }

  /** Ends the request body (the response must go on). */
  endBody(): void {
    this.req.end();
  }

  next(ms = 5000, what = 'a watch response'): Promise<Json> {
    return this.lines.next(ms, what).then((l) => {
      if (l['result'] === undefined) throw new Error(`not a result line: ${JSON.stringify(l)}`);
      return l['result'] as Json;
    });
  }

  close(): void {
    this.req.destroy();
  }
}

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** GET /v3/watch?… with Accept: text/event-stream. */
export class SseWatch {
  readonly events = new Inbox<SseEvent>();
  readonly response: Promise<IncomingMessage>;
  private readonly req: ClientRequest;
  private text = '';
  private readonly ended: Promise<void>;

  constructor(url: string, query: string, headers: Record<string, string> = {}) {
    const u = new URL('/v3/watch?' + query, url);
    this.req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET', headers: { Accept: 'text/event-stream', ...headers } });
    this.req.on('error', () => this.events.end());
    let ended: () => void = () => {};
    this.ended = new Promise((r) => (ended = r));
    this.response = new Promise((resolve, reject) => {
      this.req.on('error', reject);
      this.req.on('response', (res) => {
        res.setEncoding('utf8');
        let buf = '';
        res.on('end', ended);
        res.on('close', ended);
        res.on('data', (chunk: string) => {
          this.text += chunk;
          buf += chunk;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev: SseEvent = { event: 'message', id: undefined, data: '' };
            for (const line of block.split('\n')) {
              const c = line.indexOf(':');
              const field = c < 0 ? line : line.slice(0, c);
              const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
              if (field === 'event') ev.event = value;
              else if (field === 'id') ev.id = value;
              else if (field === 'data') ev.data = ev.data === '' ? value : ev.data + '\n' + value;
            }
            this.events.push(ev);
          }
        });
        res.on('end', () => this.events.end());
        res.on('close', () => this.events.end());
        resolve(res);
      });
    });
    this.req.end();
  }

  /** The next event, its data parsed (`{"result":…}` → the result). */
  async next(ms = 5000, what = 'an SSE event'): Promise<SseEvent & { result: Json }> {
    const ev = await this.events.next(ms, what);
    const parsed = JSON.parse(ev.data) as Json;
    return { ...ev, result: parsed['result'] as Json };
  }

  /** The whole body of a non-200 answer. */
  async body(): Promise<{ status: number; text: string }> {
    const res = await this.response;
    await this.ended;
    return { status: res.statusCode ?? 0, text: this.text };
  }

  close(): void {
    this.req.destroy();
  }
}

/** A WebSocket on GET /v3/watch. */
export class WsWatch {
  readonly messages = new Inbox<string>();
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  closeCode: number | undefined;

  constructor(url: string, path = '/v3/watch') {
    this.ws = new WebSocket(url.replace(/^http/, 'ws') + path);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    this.ws.on('message', (d) => this.messages.push(String(d)));
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.messages.end();
    });
    this.ws.on('error', () => this.messages.end());
  }

  send(req: Json | string): void {
    this.ws.send(typeof req === 'string' ? req : JSON.stringify(req));
  }

  async next(ms = 5000, what = 'a WebSocket message'): Promise<Json> {
    const text = await this.messages.next(ms, what);
    const parsed = JSON.parse(text) as Json;
    if (parsed['result'] === undefined) throw new Error(`not a result message: ${text}`);
    return parsed['result'] as Json;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A real single member with its HTTP listener on an ephemeral loopback port. */
export interface WatchMember {
  server: KeywardServer;
  http: HttpListener;
  url: string;
  dataDir: string;
  /** Stops the listener and the server (keeps the data dir). */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startWatchMember(
  opts: Partial<ServerOptions> & { listen?: ListenOptions; dataDir?: string } = {},
): Promise<WatchMember> {
  const { listen, dataDir: givenDir, ...serverOpts } = opts;
  const dataDir = givenDir ?? mkdtempSync(join(tmpdir(), 'keyward-watch-api-'));
  const maxRequestBytes = serverOpts.maxRequestBytes ?? 1572864;
  const server = await KeywardServer.open({
    name: 'w',
    dataDir,
    advertisePeerUrls: ['http://127.0.0.1:2380'],
    clusterToken: 'watch-api',
    maxRequestBytes,
    maxTxnOps: 128,
    ...serverOpts,
  });
  await server.ready();
  const api = createApi(server, { maxRequestBytes, logger: { error: () => {} } });
  const http = await HttpListener.listen(api, 'http://127.0.0.1:0', listen);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await http.close();
      await server.close();
    })());
  return {
    server,
    http,
    url: http.url,
    dataDir,
    stop,
    async dispose() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function rpc(url: string, path: string, body: unknown): Promise<Json> {
  const res = await fetch(url + path, { method: 'POST', body: JSON.stringify(body) });
  const json = (await res.json()) as Json;
  if (res.status !== 200) throw new Error(`${path} -> ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Puts key=value; returns the revision it made. */
export async function put(url: string, key: string, value: string): Promise<number> {
  const r = await rpc(url, '/v3/kv/put', { key: b64(key), value: b64(value) });
  return Number(r['header']['revision']);
}

export async function del(url: string, key: string, rangeEnd?: string): Promise<number> {
  const r = await rpc(url, '/v3/kv/deleterange', { key: b64(key), ...(rangeEnd !== undefined ? { range_end: b64(rangeEnd) } : {}) });
  return Number(r['header']['revision']);
}

/** One txn of puts then deletes; returns its revision. */
export async function txn(url: string, puts: Array<[string, string]>, dels: string[] = []): Promise<number> {
  const r = await rpc(url, '/v3/kv/txn', {
    success: [...puts.map(([k, v]) => ({ request_put: { key: b64(k), value: b64(v) } })), ...dels.map((k) => ({ request_delete_range: { key: b64(k) } }))],
  });
  return Number(r['header']['revision']);
}

export async function compact(url: string, revision: number): Promise<void> {
  await rpc(url, '/v3/kv/compaction', { revision });
}

export async function currentRevision(url: string): Promise<number> {
  const r = await rpc(url, '/v3/kv/range', { key: b64('\0'), serializable: true });
  return Number(r['header']['revision']);
}

/** `{key, type, value, mod}` of each event of a result, for compact comparisons. */
export function eventsOf(result: Json): Array<{ type: string; key: string; value: string; mod: number }> {
  return ((result['events'] ?? []) as Json[]).map((e) => ({
    type: (e['type'] as string | undefined) ?? 'PUT',
    key: unb64(e['kv']['key']),
    value: unb64(e['kv']['value'] ?? ''),
    mod: Number(e['kv']['mod_revision']),
  }));
}

/** Polls `fn` until it returns true (for state the test cannot await directly, e.g. server stats). */
export async function until(fn: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
