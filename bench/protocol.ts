// Messages between the orchestrator (kv-bench) and the load-generator process (loadgen),
// exchanged over the fork() IPC channel. A discriminated union keyed by `kind`.

import type { Op } from './workload.js';

export type ClientKind = 'raw' | 'http';

/** PEM texts for a TLS client: the CA that issued the server's certificate, and our own. */
export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * How a client proves who it is (the secure targets): a client certificate for the mutual TLS
 * handshake and, for etcd (whose JSON gateway ignores the certificate's name), an auth token
 * sent as the Authorization header of every request. Plain targets: none.
 */
export interface Credentials {
  tls?: ClientTls;
  authorization?: string;
}

/**
 * Measure one cell: `connections` closed-loop keep-alive connections issuing `op`. Connection
 * k goes to `urls[k % urls.length]` (round-robin over a cluster's members).
 */
export interface RunCell {
  kind: 'run';
  id: number;
  urls: string[];
  op: Op;
  connections: number;
  warmupMs: number;
  durationMs: number;
  keys: number;
  valueSize: number;
  client: ClientKind;
  seed: number;
  /** For https:// URLs and authenticated targets. */
  credentials?: Credentials;
  /**
   * Several principals sharing the cell (the tenants mode): connection k presents
   * `laneCredentials[k % length]` instead of `credentials`.
   */
  laneCredentials?: Credentials[];
}

/** Write every key of the key space once (so ranges read keys that exist). */
export interface Preload {
  kind: 'preload';
  id: number;
  /** Connections are spread round-robin over these. */
  urls: string[];
  connections: number;
  keys: number;
  valueSize: number;
  credentials?: Credentials;
}

export interface Shutdown {
  kind: 'shutdown';
}

export type ToGenerator = RunCell | Preload | Shutdown;

export interface LatencySummary {
  /** All in milliseconds. */
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface CellMeasurement {
  op: Op;
  connections: number;
  client: ClientKind;
  /** Length of the measurement window in seconds (warm-up excluded). */
  windowS: number;
  /** Successful requests completed inside the window. */
  requests: number;
  /** Failed requests (non-200, bad body, socket error, timeout) completed inside the window. */
  errors: number;
  /** First error seen in the whole cell (warm-up included), for diagnosis. */
  firstError: string | null;
  throughput: number;
  latencyMs: LatencySummary;
  /** Generator process CPU (user+sys) over the window, percent of one core. */
  genCpuPct: number;
  /** Generator event-loop utilization over the window (0..1); near 1 means it is saturated. */
  genElu: number;
  /** Generator CPU microseconds spent per completed request. */
  genCpuUsPerReq: number;
}

/** Sent when the measurement window opens and closes, so the orchestrator can sample server CPU. */
export interface WindowEdge {
  kind: 'window';
  id: number;
  edge: 'start' | 'end';
}

export interface CellDone {
  kind: 'cell-done';
  id: number;
  result: CellMeasurement;
}

export interface PreloadDone {
  kind: 'preload-done';
  id: number;
  written: number;
  elapsedMs: number;
}

export interface Failed {
  kind: 'failed';
  id: number;
  message: string;
}

export type FromGenerator = WindowEdge | CellDone | PreloadDone | Failed;
