// Command-line flags of `npm run bench` (node dist/bench/kv-bench.js).

import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ClientKind } from './protocol.js';
import { ALL_OPS, CLUSTER_OPS, OPS } from './workload.js';
import type { Op } from './workload.js';

/**
 * A target the bench starts (Keyward or etcd, plain or secure) or an endpoint already running.
 * Labels: `keyward`, `etcd`, and `keyward-secure`, `etcd-secure` for the secure ones.
 */
export type TargetSpec =
  | { kind: 'keyward' | 'etcd'; label: string; secure: boolean }
  | { kind: 'url'; label: string; url: string; secure: false };

/** `plain`: http://, no auth (the bench's historical setting); `secure`: mutual TLS and auth on (bench/security.ts). */
export type Security = 'plain' | 'secure';
export const SECURITIES: readonly Security[] = ['plain', 'secure'];

export interface Options {
  targets: TargetSpec[];
  connections: number[];
  ops: Op[];
  durationS: number;
  warmupS: number;
  keys: number;
  valueSize: number;
  client: ClientKind;
  /** Keyward start command as argv words with {data_dir} {url} {port} {host} placeholders. */
  keywardCmd: string[];
  etcdBin: string;
  jsonPath: string;
  ceiling: boolean;
  ceilingOnly: boolean;
  preloadConnections: number;
  startupTimeoutS: number;
  markdown: boolean;
  seed: number;
  /** Times the whole matrix is measured; cells report the median over rounds. */
  rounds: number;
  /** One target at a time instead of taking turns cell by cell. */
  sequential: boolean;
  /** Members per started Keyward/etcd cluster (1 = the single-member bench). */
  members: number;
  /** Memory mode: load `keys` keys into a fresh cluster and report each member's VmRSS. */
  memory: boolean;
  /** Which settings of Keyward and etcd are measured; each started target once per setting. */
  security: Security[];
  /**
   * Tenants mode (bench/tenants.ts): besides its own user `bench` (the baseline), the secure
   * Keyward target is measured once per count here with the same load spread over that many
   * tenants' certificates. Empty: off.
   */
  tenants: number[];
}

// `node` gets the member's start-up heap flags, as the `keyward` bin's shebang gives them
// (src/cli/heap.ts says why).
export const DEFAULT_KEYWARD_CMD =
  'env MALLOC_ARENA_MAX=2 node --max-semi-space-size=8 dist/src/cli/main.js serve --data-dir {data_dir} --listen-client-urls {url} --advertise-client-urls {url}';

/**
 * How to start one member of a --members N Keyward cluster. Placeholders besides the
 * single-member ones: {name}, {peer_url}, {initial_cluster}, {token}.
 */
export const DEFAULT_KEYWARD_CLUSTER_CMD =
  'env MALLOC_ARENA_MAX=2 node --max-semi-space-size=8 dist/src/cli/main.js serve --name {name} --data-dir {data_dir} ' +
  '--listen-client-urls {url} --advertise-client-urls {url} ' +
  '--listen-peer-urls {peer_url} --initial-advertise-peer-urls {peer_url} ' +
  '--initial-cluster {initial_cluster} --initial-cluster-state new --initial-cluster-token {token}';

/** Keys loaded by --memory unless --keys says otherwise. */
export const MEMORY_KEYS = 100_000;

export const USAGE = `Usage: npm run bench -- [flags]     (or: node dist/bench/kv-bench.js [flags])

Measures put and single-key range throughput and p50/p99 latency of etcd's v3 JSON API
(/v3/kv/put, /v3/kv/range) with N closed-loop keep-alive connections, against a freshly
started Keyward member and, when etcd is on PATH, a freshly started etcd in the same run.

  --target T            keyward | etcd | both | url:http://host:port, or a comma list of
                        those (default: both when etcd is on PATH, else keyward)
  --security LIST       plain,secure (default both): plain = http:// without auth; secure =
                        mutual TLS on the client and peer ports (certificates from src/tls
                        CertStore in a temp dir) and auth on, load sent as a non-root user
                        with READWRITE on bench/; each Keyward/etcd target runs once per
                        setting, the secure ones labelled keyward-secure, etcd-secure
  --secure              the same as --security plain,secure
  --members N           members per started cluster, Keyward's and etcd's (default 1);
                        connections are spread round-robin over the members
  --memory              instead of the throughput cells: load --keys keys (default
                        ${MEMORY_KEYS.toLocaleString('en-US')}) into a fresh cluster of each target and report
                        every member's resident set size (VmRSS)
  --tenants LIST        tenants mode (issue 6), e.g. 1,10: the secure Keyward also gets
                        tenants bench-t0 … (generous quotas), each with a user bench holding
                        READWRITE on its whole virtual keyspace and its own client
                        certificate (O=<tenant>); every cell is measured as the cluster user
                        bench (the baseline, keyward-secure) and once per count N with the
                        same connections spread over N tenants (keyward-tN); reports
                        tenants/baseline (goal >= 0.90x). Defaults --target keyward
                        --security secure
  --connections LIST    concurrent connections per cell (default 1,16,64)
  --ops LIST            put,range,range-s (range-s = "serializable": true); default
                        put,range, and put,range,range-s with --members > 1
  --duration S          measured seconds per cell (default 5)
  --warmup S            unmeasured warm-up seconds per cell (default 1)
  --keys N              key space size, keys bench/key-<n> (default 10000)
  --value-size B        value bytes (default 256)
  --client raw|http     generator transport: raw net sockets (default) or node:http Agent
  --keyward-cmd CMD     how to start Keyward (one member); placeholders {data_dir} {url}
                        {port} {host}, and with --members > 1 also {name} {peer_url}
                        {initial_cluster} {token}
                        (default: ${DEFAULT_KEYWARD_CMD};
                        with --members > 1: ${DEFAULT_KEYWARD_CLUSTER_CMD})
  --etcd-bin PATH       etcd binary (default: etcd)
  --json PATH           where to write results (default bench/results/latest.json)
  --no-ceiling          skip the generator-ceiling cells (constant node:http server)
  --ceiling-only        run only the generator-ceiling cells
  --preload-connections N   connections used to preload the key space (default 16)
  --startup-timeout S   seconds to wait for GET /health (default 60)
  --rounds N            measure the whole matrix N times; each cell reports the median
                        over rounds (default 1; use 3 or more on a busy machine)
  --sequential          start, measure and stop one target at a time; by default all
                        targets run at once and take turns cell by cell (A B, B A, …)
                        so background load drifts hit them alike
  --markdown            also print the tables as Markdown
  --seed N              PRNG seed for key choice (default 1)
  -h, --help            this text
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function positiveNumber(name: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function nonNegativeNumber(name: string, text: string, integer = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer ' : ''}>= 0, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** Splits a command line into words; supports '…' and "…" quoting and backslash escapes. */
export function splitCommand(cmd: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < cmd.length) cur += cmd[++i]!;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i]!;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new UsageError(`unterminated quote in command: ${cmd}`);
  if (inWord) words.push(cur);
  return words;
}

export function onPath(bin: string): boolean {
  const candidates = bin.includes('/') ? [bin] : (process.env['PATH'] ?? '').split(delimiter).filter(Boolean).map((d) => join(d, bin));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function parseTargets(text: string, security: readonly Security[]): TargetSpec[] {
  const out: TargetSpec[] = [];
  const started = (kind: 'keyward' | 'etcd'): TargetSpec[] =>
    security.map((sec) => ({ kind, label: sec === 'secure' ? `${kind}-secure` : kind, secure: sec === 'secure' }));
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (part === 'both') out.push(...started('keyward'), ...started('etcd'));
    else if (part === 'keyward') out.push(...started('keyward'));
    else if (part === 'etcd') out.push(...started('etcd'));
    else if (part.startsWith('url:')) {
      const url = part.slice(4).replace(/\/+$/, '');
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        throw new UsageError(`bad target URL ${JSON.stringify(url)}`);
      }
      if (u.protocol !== 'http:') throw new UsageError(`only http:// URLs are supported: ${url}`);
      if (!security.includes('plain')) throw new UsageError(`url: targets are measured as they are (plain); --security names no plain setting`);
      out.push({ kind: 'url', label: `url:${u.host}`, url: `http://${u.host}`, secure: false });
    } else throw new UsageError(`unknown target ${JSON.stringify(part)} (keyward|etcd|both|url:http://host:port)`);
  }
  const seen = new Set<string>();
  const unique = out.filter((t) => (seen.has(t.label) ? false : (seen.add(t.label), true)));
  if (unique.length === 0) throw new UsageError('--target names no target');
  // Plain targets first, then secure ones, each in the order asked for.
  return [...unique.filter((t) => !t.secure), ...unique.filter((t) => t.secure)];
}

function parseList<T>(name: string, text: string, item: (s: string) => T): T[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean).map(item);
  if (items.length === 0) throw new UsageError(`--${name} is empty`);
  return items;
}

/** Returns null when --help was asked for. */
export function parseOptions(argv: string[], repoRoot: string): Options | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        target: { type: 'string' },
        connections: { type: 'string', default: '1,16,64' },
        ops: { type: 'string' },
        members: { type: 'string', default: '1' },
        memory: { type: 'boolean', default: false },
        duration: { type: 'string', default: '5' },
        warmup: { type: 'string', default: '1' },
        keys: { type: 'string' },
        'value-size': { type: 'string', default: '256' },
        client: { type: 'string', default: 'raw' },
        'keyward-cmd': { type: 'string' },
        'etcd-bin': { type: 'string', default: 'etcd' },
        json: { type: 'string' },
        'no-ceiling': { type: 'boolean', default: false },
        'ceiling-only': { type: 'boolean', default: false },
        'preload-connections': { type: 'string', default: '16' },
        'startup-timeout': { type: 'string', default: '60' },
        markdown: { type: 'boolean', default: false },
        seed: { type: 'string', default: '1' },
        rounds: { type: 'string', default: '1' },
        sequential: { type: 'boolean', default: false },
        security: { type: 'string' },
        secure: { type: 'boolean', default: false },
        tenants: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return null;

  const etcdBin = v['etcd-bin'];
  if (v.secure && v.security !== undefined) throw new UsageError('--secure and --security exclude each other (--secure is --security plain,secure)');
  const tenants = v.tenants === undefined ? [] : [...new Set(parseList('tenants', v.tenants, (s) => positiveNumber('tenants', s, true)))].sort((a, b) => a - b);
  if (tenants.length > 0 && v.memory) throw new UsageError('--tenants and --memory exclude each other');
  // The tenants mode measures the secure Keyward only, unless asked for more.
  const security = tenants.length > 0 && !v.secure && v.security === undefined
    ? (['secure'] as Security[])
    : v.secure
    ? [...SECURITIES]
    : [...new Set(parseList('security', v.security ?? SECURITIES.join(','), (s): Security => {
        const sec = SECURITIES.find((x) => x === s);
        if (sec !== undefined) return sec;
        throw new UsageError(`unknown security setting ${JSON.stringify(s)} (${SECURITIES.join('|')})`);
      }))].sort((a, b) => SECURITIES.indexOf(a) - SECURITIES.indexOf(b));
  const targets = parseTargets(v.target ?? (tenants.length > 0 ? 'keyward' : onPath(etcdBin) ? 'both' : 'keyward'), security);
  if (tenants.length > 0 && !targets.some((t) => t.kind === 'keyward' && t.secure)) {
    throw new UsageError('--tenants needs the secure Keyward target (--target keyward with --security including secure)');
  }
  const connections = parseList('connections', v.connections, (s) => positiveNumber('connections', s, true));
  const members = positiveNumber('members', v.members, true);
  const ops = parseList('ops', v.ops ?? (members > 1 ? CLUSTER_OPS : OPS).join(','), (s): Op => {
    const op = ALL_OPS.find((o) => o === s);
    if (op !== undefined) return op;
    throw new UsageError(`unknown op ${JSON.stringify(s)} (${ALL_OPS.join('|')})`);
  });
  const client = v.client;
  if (client !== 'raw' && client !== 'http') throw new UsageError(`--client must be raw or http, got ${JSON.stringify(client)}`);
  const keywardCmd = splitCommand(v['keyward-cmd'] ?? (members > 1 ? DEFAULT_KEYWARD_CLUSTER_CMD : DEFAULT_KEYWARD_CMD));
  if (keywardCmd.length === 0) throw new UsageError('--keyward-cmd is empty');
  if (v['no-ceiling'] && v['ceiling-only']) throw new UsageError('--no-ceiling and --ceiling-only exclude each other');
  const jsonPath = v.json === undefined ? join(repoRoot, 'bench', 'results', 'latest.json') : isAbsolute(v.json) ? v.json : resolve(v.json);
  const seed = Number(v.seed);
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');

  return {
    targets,
    connections: [...new Set(connections)],
    ops: [...new Set(ops)],
    durationS: positiveNumber('duration', v.duration, false),
    warmupS: nonNegativeNumber('warmup', v.warmup),
    keys: positiveNumber('keys', v.keys ?? String(v.memory ? MEMORY_KEYS : 10_000), true),
    valueSize: nonNegativeNumber('value-size', v['value-size'], true),
    client,
    keywardCmd,
    etcdBin,
    jsonPath,
    ceiling: !v['no-ceiling'],
    ceilingOnly: v['ceiling-only'],
    preloadConnections: positiveNumber('preload-connections', v['preload-connections'], true),
    startupTimeoutS: positiveNumber('startup-timeout', v['startup-timeout'], false),
    markdown: v.markdown,
    seed,
    rounds: positiveNumber('rounds', v.rounds, true),
    sequential: v.sequential,
    members,
    memory: v.memory,
    security,
    tenants,
  };
}
