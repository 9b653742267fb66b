// The load generator: a separate process (forked by kv-bench) so that its CPU is not the
// server's and the orchestrator's bookkeeping never runs on its event loop.
//
// Model: closed loop. Each of N keep-alive connections has exactly one request in flight;
// when its response arrives the next request (a uniformly random key) is written at once.
// Requests are prebuilt byte buffers, so the hot path is: pick index, write, parse the
// response head, check status and a body marker, record the latency.
// Only completions inside the measurement window [warm-up end, warm-up end + duration)
// count, both for throughput and for latency.

import { performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { HttpAgentPool } from './http-client.js';
import type { CellMeasurement, Credentials, FromGenerator, Preload, RunCell, ToGenerator } from './protocol.js';
import { RawConnection } from './raw-client.js';
import type { ResponseHandler } from './raw-client.js';
import { LatencySamples } from './samples.js';
import { BODY_MARKER, OP_PATH, rawRequest, requestBody } from './workload.js';
import type { Op } from './workload.js';

/** After the window closes, requests still in flight get this long before they count as timeouts. */
const DRAIN_TIMEOUT_MS = 10_000;
/** Pause before reconnecting a lane whose connection broke (avoids a hot loop on a dead server). */
const RECONNECT_DELAY_MS = 20;

function send(msg: FromGenerator): void {
  process.send?.(msg);
}

/** One closed-loop lane: sends request `i` of the prebuilt set and reports the response. */
interface Lane {
  send(i: number, handler: ResponseHandler): void;
  close(): void;
}

interface Target {
  host: string;
  port: number;
  hostHeader: string;
  /** https:// */
  secure: boolean;
}

function parseTarget(url: string): Target {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`only http:// and https:// targets are supported: ${url}`);
  const secure = u.protocol === 'https:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port === '' ? (secure ? 443 : 80) : Number(u.port);
  return { host, port, hostHeader: u.host, secure };
}

/**
 * The last TLS session each server handed out to each client certificate (host:port and the
 * certificate → ticket), kept for the life of the generator: a lane that reconnects, and every
 * lane of the next cell, resumes instead of doing a full handshake, as a long-lived client with
 * a session cache would. The certificate is part of the key because a resumed session keeps the
 * identity of the handshake that made it: a tenant lane resuming another tenant's session would
 * be that other tenant.
 */
const tlsSessions = new Map<string, Buffer>();

/** A new connection to `t`; over TLS with the credentials' certificate and a cached session. */
function connect(t: Target, creds: Credentials | undefined): RawConnection {
  if (!t.secure) return new RawConnection(t.host, t.port);
  const key = `${t.host}:${t.port}\n${creds?.tls?.cert ?? ''}`;
  const session = tlsSessions.get(key);
  const c = creds?.tls;
  const conn = new RawConnection(t.host, t.port, {
    ...(c === undefined ? {} : { ca: c.ca, cert: c.cert, key: c.key }),
    ...(session === undefined ? {} : { session }),
  });
  conn.socket.on('session', (s: Buffer) => tlsSessions.set(key, s));
  return conn;
}

function buildRawRequests(t: Target, op: Op, keys: number, valueSize: number, creds: Credentials | undefined): Buffer[] {
  const out = new Array<Buffer>(keys);
  for (let i = 0; i < keys; i++) out[i] = rawRequest(OP_PATH[op], t.hostHeader, requestBody(op, i, valueSize), creds?.authorization);
  return out;
}

/**
 * What lane k presents: `laneCredentials[k % length]` when the cell spreads its connections over
 * several principals (tenants), else the cell's one `credentials`.
 */
function laneCredentials(spec: { credentials?: Credentials; laneCredentials?: Credentials[] }): (k: number) => Credentials | undefined {
  const each = spec.laneCredentials;
  if (each === undefined || each.length === 0) return () => spec.credentials;
  return (k) => each[k % each.length];
}

/** Lane k talks to member m = k % targets.length as credsOf(k) and sends `request(m, k, i)`. */
function rawLanes(targets: Target[], n: number, credsOf: (k: number) => Credentials | undefined, request: (m: number, k: number, i: number) => Buffer): Lane[] {
  const lanes: Lane[] = [];
  for (let k = 0; k < n; k++) {
    const m = k % targets.length;
    const t = targets[m]!;
    const creds = credsOf(k);
    let conn = connect(t, creds);
    lanes.push({
      send(i, handler) {
        if (conn.broken) conn = connect(t, creds);
        conn.request(request(m, k, i), handler);
      },
      close() {
        conn.close();
      },
    });
  }
  return lanes;
}

function httpLanes(targets: Target[], op: Op, keys: number, valueSize: number, n: number, credsOf: (k: number) => Credentials | undefined): Lane[] {
  const bodies = new Array<Buffer>(keys);
  for (let i = 0; i < keys; i++) bodies[i] = Buffer.from(requestBody(op, i, valueSize), 'utf8');
  // One Agent pool per member and principal, each allowed as many sockets as lanes assigned to it.
  const perPool = new Map<string, number>();
  const poolKey = (k: number): string => `${k % targets.length}\n${credsOf(k)?.tls?.cert ?? ''}\n${credsOf(k)?.authorization ?? ''}`;
  for (let k = 0; k < n; k++) perPool.set(poolKey(k), (perPool.get(poolKey(k)) ?? 0) + 1);
  const pools = new Map<string, HttpAgentPool>();
  const path = OP_PATH[op];
  const lanes: Lane[] = [];
  for (let k = 0; k < n; k++) {
    const key = poolKey(k);
    const t = targets[k % targets.length]!;
    const pool = pools.get(key) ?? new HttpAgentPool(t.host, t.port, perPool.get(key)!, t.secure, credsOf(k));
    pools.set(key, pool);
    lanes.push({
      send(i, handler) {
        pool.request(path, bodies[i]!, handler);
      },
      close() {
        pool.close();
      },
    });
  }
  return lanes;
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function describe(err: Error | null, status: number, body: Buffer, marker: Buffer): string | null {
  if (err !== null) return err.message;
  if (status !== 200) return `HTTP ${status}: ${body.toString('utf8', 0, Math.min(body.length, 300))}`;
  if (body.indexOf(marker) < 0) {
    return `HTTP 200 without ${marker.toString()}: ${body.toString('utf8', 0, Math.min(body.length, 300))}`;
  }
  return null;
}

function runCell(spec: RunCell): Promise<CellMeasurement> {
  const targets = spec.urls.map(parseTarget);
  let lanes: Lane[];
  if (spec.client === 'raw') {
    // Prebuilt per member (the Host header differs), only for members some lane talks to.
    // (and per auth token: lanes of several principals may send different Authorization headers).
    const credsOf = laneCredentials(spec);
    const sets = new Map<string, Buffer[]>();
    const setOf = (m: number, k: number): Buffer[] => {
      const creds = credsOf(k);
      const key = `${m}\n${creds?.authorization ?? ''}`;
      let set = sets.get(key);
      if (set === undefined) sets.set(key, (set = buildRawRequests(targets[m]!, spec.op, spec.keys, spec.valueSize, creds)));
      return set;
    };
    const laneSets = Array.from({ length: spec.connections }, (_, k) => setOf(k % targets.length, k));
    lanes = rawLanes(targets, spec.connections, credsOf, (_m, k, i) => laneSets[k]![i]!);
  } else lanes = httpLanes(targets, spec.op, spec.keys, spec.valueSize, spec.connections, laneCredentials(spec));
  const marker = BODY_MARKER[spec.op];
  const samples = new LatencySamples();
  let errors = 0;
  let firstError: string | null = null;

  const t0 = performance.now();
  const measureStart = t0 + spec.warmupMs;
  const measureEnd = measureStart + spec.durationMs;
  let cpuStart = process.cpuUsage();
  let eluStart: EventLoopUtilization = performance.eventLoopUtilization();
  let cpuUs = 0;
  let elu = 0;
  let windowClosed = false;

  return new Promise<CellMeasurement>((resolve) => {
    let active = lanes.length;
    let finished = false;
    const timers: NodeJS.Timeout[] = [];

    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      for (const l of lanes) l.close();
      const latencyMs = samples.summary();
      const requests = samples.count;
      const windowS = spec.durationMs / 1000;
      resolve({
        op: spec.op,
        connections: spec.connections,
        client: spec.client,
        windowS,
        requests,
        errors,
        firstError,
        throughput: requests / windowS,
        latencyMs,
        genCpuPct: (cpuUs / 1000 / spec.durationMs) * 100,
        genElu: elu,
        genCpuUsPerReq: requests + errors > 0 ? cpuUs / (requests + errors) : NaN,
      });
    };

    const laneDone = (): void => {
      active--;
      if (active === 0 && windowClosed) finish();
    };

    const loop = (lane: Lane, rng: () => number): void => {
      if (finished) return;
      if (performance.now() >= measureEnd) {
        laneDone();
        return;
      }
      const i = rng() % spec.keys;
      const start = performance.now();
      lane.send(i, (err, status, body) => {
        const end = performance.now();
        const bad = describe(err, status, body, marker);
        if (end >= measureStart && end < measureEnd) {
          if (bad === null) samples.record(end - start);
          else errors++;
        }
        if (bad !== null && firstError === null) firstError = bad;
        if (end >= measureEnd || finished) {
          laneDone();
          return;
        }
        if (err !== null) setTimeout(() => loop(lane, rng), RECONNECT_DELAY_MS);
        else loop(lane, rng);
      });
    };

    timers.push(
      setTimeout(() => {
        cpuStart = process.cpuUsage();
        eluStart = performance.eventLoopUtilization();
        send({ kind: 'window', id: spec.id, edge: 'start' });
      }, Math.max(0, measureStart - performance.now())),
    );
    timers.push(
      setTimeout(() => {
        const c = process.cpuUsage(cpuStart);
        cpuUs = c.user + c.system;
        elu = performance.eventLoopUtilization(eluStart).utilization;
        send({ kind: 'window', id: spec.id, edge: 'end' });
        windowClosed = true;
        if (active === 0) {
          finish();
          return;
        }
        timers.push(
          setTimeout(() => {
            // Whatever is still in flight started before the window closed and never came back.
            errors += active;
            if (firstError === null) firstError = `${active} request(s) still in flight ${DRAIN_TIMEOUT_MS} ms after the window closed`;
            finish();
          }, DRAIN_TIMEOUT_MS),
        );
      }, Math.max(0, measureEnd - performance.now())),
    );

    lanes.forEach((lane, k) => loop(lane, xorshift(spec.seed * 7919 + k + 1)));
  });
}

function preload(spec: Preload): Promise<number> {
  const targets = spec.urls.map(parseTarget);
  const n = Math.max(1, Math.min(spec.connections, spec.keys));
  // Built as they are sent: a 100,000-key preload (--memory) would hold ~45 MB per member.
  const auth = spec.credentials?.authorization;
  const lanes = rawLanes(targets, n, () => spec.credentials, (m, _k, i) => rawRequest(OP_PATH.put, targets[m]!.hostHeader, requestBody('put', i, spec.valueSize), auth));
  let next = 0;
  let written = 0;
  return new Promise<number>((resolve, reject) => {
    let active = lanes.length;
    let failed = false;
    const step = (lane: Lane): void => {
      if (failed) return;
      if (next >= spec.keys) {
        if (--active === 0) {
          for (const l of lanes) l.close();
          resolve(written);
        }
        return;
      }
      const i = next++;
      lane.send(i, (err, status, body) => {
        const bad = describe(err, status, body, BODY_MARKER.put);
        if (bad !== null) {
          failed = true;
          for (const l of lanes) l.close();
          reject(new Error(`preload put of key ${i} failed: ${bad}`));
          return;
        }
        written++;
        step(lane);
      });
    };
    for (const l of lanes) step(l);
  });
}

let queue: Promise<void> = Promise.resolve();

process.on('message', (raw: unknown) => {
  // IPC delivers what kv-bench sent; it only sends ToGenerator values.
  const msg = raw as ToGenerator;
  queue = queue.then(async () => {
    switch (msg.kind) {
      case 'run':
        try {
          send({ kind: 'cell-done', id: msg.id, result: await runCell(msg) });
        } catch (err) {
          send({ kind: 'failed', id: msg.id, message: err instanceof Error ? err.message : String(err) });
        }
        return;
      case 'preload': {
        const t = performance.now();
        try {
          const written = await preload(msg);
          send({ kind: 'preload-done', id: msg.id, written, elapsedMs: performance.now() - t });
        } catch (err) {
          send({ kind: 'failed', id: msg.id, message: err instanceof Error ? err.message : String(err) });
        }
        return;
      }
      case 'shutdown':
        process.disconnect?.();
        return;
      default: {
        const never: never = msg;
        throw new TypeError(`unknown message ${JSON.stringify(never)}`);
      }
    }
  });
});

process.on('disconnect', () => {
  // Parent gone (or asked us to stop): nothing left to do.
  setImmediate(() => process.exit(0));
});
