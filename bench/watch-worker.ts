// The watcher process of the watch bench (forked by watch-bench.ts): holds every watch stream so
// the orchestrator's writers and this process's readers do not share one event loop.
//
// Active watchers are raw `POST /v3/watch` streams (the body ends after the create request, which
// both etcd 3.4's gateway and Keyward accept) that count events cheaply: with prev_kv off each
// event carries exactly one `"kv":` member, so a line's events are counted without parsing it.
// Every `sampleEvery`-th watcher parses its lines fully and records put→event latency from the
// value, which starts with the writer's process.hrtime (CLOCK_MONOTONIC, system-wide on Linux, so
// comparable across the two processes). Idle watchers are SDK watches (src/client WatchClient), so
// the client-side heap per watch is the SDK's.
import { request } from 'node:http';
import { WatchClient, type Watch } from '../src/client/index.js';
import { decodeWatchResult } from '../src/wire/index.js';
import { LatencySamples } from './samples.js';

export type ToWorker =
  | { kind: 'open-active'; urls: string[]; count: number; prefix: string; sampleEvery: number }
  | { kind: 'open-idle'; urls: string[]; count: number; duplex: 'full' | 'half' }
  | { kind: 'window'; edge: 'start' | 'end' }
  | { kind: 'close' };

export type FromWorker =
  | { kind: 'opened'; ms: number; heapBefore: number; heapAfter: number }
  | { kind: 'window-done'; events: number; responses: number; latency: ReturnType<LatencySamples['summary']>; latencySamples: number; errors: string[]; cpuPct: number }
  | { kind: 'failed'; message: string }
  | { kind: 'closed' };

const KV_MEMBER = '"kv":';

let events = 0;
let responses = 0;
let measuring = false;
let latency = new LatencySamples();
let windowStart = { cpu: process.cpuUsage(), at: process.hrtime.bigint() };
const errors: string[] = [];
const streams: Array<{ destroy(): void }> = [];
const idle: Watch[] = [];
const clients: WatchClient[] = [];

function countKv(line: string): number {
  let n = 0;
  for (let i = line.indexOf(KV_MEMBER); i >= 0; i = line.indexOf(KV_MEMBER, i + KV_MEMBER.length)) n++;
  return n;
}

function openActive(url: string, prefix: string, sampled: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const key = Buffer.from(prefix);
    const end = Buffer.from(prefix);
    end[end.length - 1]!++;
    const body = JSON.stringify({ create_request: { key: key.toString('base64'), range_end: end.toString('base64') } }) + '\n';
    const req = request(new URL(url + '/v3/watch'), { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } });
    req.setNoDelay(true);
    let buffer = '';
    let created = false;
    req.on('error', (e) => (created ? errors.push(e.message) : reject(e)));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch on ${url}: HTTP ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
          if (!created) {
            created = true;
            resolve();
            continue;
          }
          if (!measuring) continue;
          responses++;
          if (!sampled) {
            events += countKv(line);
            continue;
          }
          const now = process.hrtime.bigint();
          const r = decodeWatchResult(JSON.parse(line));
          events += r.events.length;
          for (const e of r.events) {
            const v = e.kv?.value;
            if (v === undefined) continue;
            const text = Buffer.from(v).toString('latin1');
            const m = /^\d+/.exec(text);
            if (m !== null) latency.record(Number(now - BigInt(m[0])) / 1e6);
          }
        }
      });
    });
    req.end(body);
    streams.push(req);
  });
}

async function openIdle(urls: string[], count: number, duplex: 'full' | 'half'): Promise<void> {
  // One client per member: watch k goes to member k mod N, like the active ones.
  for (let m = 0; m < urls.length; m++) clients.push(new WatchClient({ endpoints: [...urls.slice(m), ...urls.slice(0, m)], duplex, timeoutMs: 30_000 }));
  const batch: Promise<number>[] = [];
  for (let i = 0; i < count; i++) {
    const w = clients[i % clients.length]!.watch(`idle/${i}`);
    idle.push(w);
    batch.push(w.ready);
    if (batch.length >= 50) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

function send(m: FromWorker): void {
  process.send!(m);
}

process.on('message', (raw: unknown) => {
  const msg = raw as ToWorker;
  void (async () => {
    try {
      switch (msg.kind) {
        case 'open-active': {
          const t0 = Date.now();
          const before = heapUsed();
          const all: Promise<void>[] = [];
          for (let i = 0; i < msg.count; i++) all.push(openActive(msg.urls[i % msg.urls.length]!, msg.prefix, i % msg.sampleEvery === 0));
          await Promise.all(all);
          send({ kind: 'opened', ms: Date.now() - t0, heapBefore: before, heapAfter: heapUsed() });
          return;
        }
        case 'open-idle': {
          const t0 = Date.now();
          const before = heapUsed();
          await openIdle(msg.urls, msg.count, msg.duplex);
          send({ kind: 'opened', ms: Date.now() - t0, heapBefore: before, heapAfter: heapUsed() });
          return;
        }
        case 'window':
          if (msg.edge === 'start') {
            events = 0;
            responses = 0;
            latency = new LatencySamples();
            errors.length = 0;
            windowStart = { cpu: process.cpuUsage(), at: process.hrtime.bigint() };
            measuring = true;
          } else {
            measuring = false;
            const used = process.cpuUsage(windowStart.cpu);
            const cpuPct = ((used.user + used.system) / 1000 / (Number(process.hrtime.bigint() - windowStart.at) / 1e6)) * 100;
            send({ kind: 'window-done', events, responses, latency: latency.summary(), latencySamples: latency.count, errors: errors.slice(0, 5), cpuPct });
          }
          return;
        case 'close':
          for (const s of streams) s.destroy();
          await Promise.all(idle.map((w) => w.close()));
          send({ kind: 'closed' });
          process.exit(0);
      }
    } catch (e) {
      send({ kind: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
  })();
});

