import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

// Every setting of `keyward serve` is declared once here and read from, in order of precedence,
// a command-line flag (etcd's flag name), an environment variable (KEYWARD_ + the flag name in
// upper snake case, like etcd's ETCD_ variables), a YAML config file (--config-file, keys are the
// flag names, as in etcd's config file), and the default.

type Kind = 'string' | 'int' | 'urls' | 'level' | 'duration';

interface Setting<K extends Kind = Kind> {
  flag: string;
  kind: K;
  description: string;
  /** Default value, or a function of the settings resolved so far (data dir depends on name). */
  default: string | ((resolved: Partial<ServeConfig>) => string);
}

export interface ServeConfig {
  name: string;
  dataDir: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  listenPeerUrls: string[];
  initialAdvertisePeerUrls: string[];
  initialClusterToken: string;
  /** name=peerURL,... as given; parse with parseInitialCluster. */
  initialCluster: string;
  initialClusterState: string;
  snapshotCount: number;
  heartbeatInterval: number;
  electionTimeout: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  logLevel: string;
  /** In milliseconds (the flag takes a Go duration such as 10m or 500ms). */
  experimentalWatchProgressNotifyInterval: number;
  /** In milliseconds (Go duration on the command line, as etcd 3.5's flag). */
  experimentalLeaseCheckpointInterval: number;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export const SETTINGS: Record<keyof ServeConfig, Setting> = {
  name: { flag: 'name', kind: 'string', default: 'default', description: 'human-readable name for this member' },
  dataDir: {
    flag: 'data-dir',
    kind: 'string',
    default: (r) => `${r.name ?? 'default'}.keyward`,
    description: 'path to the data directory (default: ${name}.keyward)',
  },
  listenClientUrls: {
    flag: 'listen-client-urls',
    kind: 'urls',
    default: 'http://127.0.0.1:2379',
    description: 'comma-separated URLs to listen on for client traffic',
  },
  advertiseClientUrls: {
    flag: 'advertise-client-urls',
    kind: 'urls',
    default: 'http://127.0.0.1:2379',
    description: "comma-separated list of this member's client URLs to advertise",
  },
  listenPeerUrls: {
    flag: 'listen-peer-urls',
    kind: 'urls',
    default: 'http://127.0.0.1:2380',
    description: 'comma-separated URLs to listen on for peer traffic',
  },
  initialAdvertisePeerUrls: {
    flag: 'initial-advertise-peer-urls',
    kind: 'urls',
    default: 'http://127.0.0.1:2380',
    description: "this member's peer URLs to advertise; with the cluster token they determine the member ID",
  },
  initialClusterToken: {
    flag: 'initial-cluster-token',
    kind: 'string',
    default: 'keyward-cluster',
    description: 'initial cluster token, part of the member and cluster IDs',
  },
  initialCluster: {
    flag: 'initial-cluster',
    kind: 'string',
    default: (r) => `${r.name ?? 'default'}=${(r.initialAdvertisePeerUrls ?? ['http://127.0.0.1:2380']).join(',')}`,
    description: 'initial cluster configuration for bootstrapping: name=peerURL,... (default: ${name}=${initial-advertise-peer-urls})',
  },
  initialClusterState: {
    flag: 'initial-cluster-state',
    kind: 'string',
    default: 'new',
    description: "'new' to found a cluster, 'existing' to join one (after member add)",
  },
  snapshotCount: {
    flag: 'snapshot-count',
    kind: 'int',
    default: '10000',
    description: 'number of applied entries between two snapshots (the log is compacted behind them)',
  },
  heartbeatInterval: {
    flag: 'heartbeat-interval',
    kind: 'int',
    default: '100',
    description: 'time (in milliseconds) of a heartbeat interval (one Raft tick)',
  },
  electionTimeout: {
    flag: 'election-timeout',
    kind: 'int',
    default: '1000',
    description: 'time (in milliseconds) for an election to timeout',
  },
  maxRequestBytes: {
    flag: 'max-request-bytes',
    kind: 'int',
    default: '1572864',
    description: 'maximum client request size in bytes the server will accept',
  },
  maxTxnOps: {
    flag: 'max-txn-ops',
    kind: 'int',
    default: '128',
    description: 'maximum number of operations permitted in each list of a transaction',
  },
  logLevel: { flag: 'log-level', kind: 'level', default: 'info', description: `log level: ${LEVELS.join(', ')}` },
  experimentalWatchProgressNotifyInterval: {
    flag: 'experimental-watch-progress-notify-interval',
    kind: 'duration',
    default: '10m',
    description: 'duration of periodic watch progress notifications (Go duration syntax: 10m, 1s, 500ms)',
  },
  experimentalLeaseCheckpointInterval: {
    flag: 'experimental-lease-checkpoint-interval',
    kind: 'duration',
    default: '5m',
    description: "how often the leader records leases' remaining TTLs through Raft, so restarts and elections do not renew them (Go duration)",
  },
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function envName(flag: string): string {
  return 'KEYWARD_' + flag.toUpperCase().replace(/-/g, '_');
}

function convert(setting: Setting, raw: unknown, source: string): string | number | string[] {
  const where = `--${setting.flag} (from ${source})`;
  const text = Array.isArray(raw) ? raw.join(',') : typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string') throw new ConfigError(`${where}: expected a string, got ${JSON.stringify(raw)}`);
  switch (setting.kind) {
    case 'string':
      if (text === '') throw new ConfigError(`${where}: must not be empty`);
      return text;
    case 'int': {
      if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) <= 0) {
        throw new ConfigError(`${where}: expected a positive integer, got ${JSON.stringify(text)}`);
      }
      return Number(text);
    }
    case 'duration': {
      const ms = parseDurationMs(text);
      if (ms === undefined || ms < 1) throw new ConfigError(`${where}: expected a positive duration such as 10m, 1s or 500ms, got ${JSON.stringify(text)}`);
      return ms;
    }
    case 'level':
      if (!LEVELS.includes(text)) throw new ConfigError(`${where}: expected one of ${LEVELS.join(', ')}, got ${JSON.stringify(text)}`);
      return text;
    case 'urls': {
      const urls = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (urls.length === 0) throw new ConfigError(`${where}: expected at least one URL`);
      for (const u of urls) {
        let parsed: URL;
        try {
          parsed = new URL(u);
        } catch {
          throw new ConfigError(`${where}: ${JSON.stringify(u)} is not a URL`);
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
          throw new ConfigError(`${where}: ${JSON.stringify(u)} must be http:// or https://`);
        }
        if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') {
          throw new ConfigError(`${where}: ${JSON.stringify(u)} must not have a path, query or fragment`);
        }
      }
      return urls;
    }
  }
}

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Go's time.ParseDuration, as etcd reads its duration flags: a sequence of decimal numbers with
 * units (`1h30m`, `1.5s`, `500ms`), optionally signed; `0` alone needs no unit. Returns whole
 * milliseconds (rounded up, so a positive duration stays positive), or undefined when malformed.
 */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (m === null) return undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * DURATION_UNITS_MS[part[2]!]!;
  if (!Number.isFinite(total)) return undefined;
  const ms = Math.ceil(total - 1e-9);
  return m[1] === '-' ? -ms : ms;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config-file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`--config-file ${path}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`--config-file ${path}: expected a mapping of flag names to values`);
  const known = new Set(Object.values(SETTINGS).map((s) => s.flag));
  for (const key of Object.keys(doc)) {
    if (!known.has(key)) throw new ConfigError(`--config-file ${path}: unknown setting ${JSON.stringify(key)}`);
  }
  return doc as Record<string, unknown>;
}

/**
 * Resolves the serve configuration. `flags` maps flag names (as typed, e.g. "data-dir") to the
 * strings given on the command line; absent flags are simply missing.
 */
export function resolveServeConfig(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv,
  configFile?: string,
): ServeConfig {
  const file = configFile !== undefined ? readConfigFile(configFile) : {};
  const out: Partial<Record<keyof ServeConfig, unknown>> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as Array<[keyof ServeConfig, Setting]>) {
    const fromFlag = flags[setting.flag];
    const fromEnv = env[envName(setting.flag)];
    const fromFile = file[setting.flag];
    let value: string | number | string[];
    if (fromFlag !== undefined) value = convert(setting, fromFlag, 'command line');
    else if (fromEnv !== undefined) value = convert(setting, fromEnv, `$${envName(setting.flag)}`);
    else if (fromFile !== undefined && fromFile !== null) value = convert(setting, fromFile, configFile ?? 'config file');
    else {
      const d = typeof setting.default === 'function' ? setting.default(out as Partial<ServeConfig>) : setting.default;
      value = convert(setting, d, 'default');
    }
    out[key] = value;
  }
  const config = out as ServeConfig;
  if (config.initialClusterState !== 'new' && config.initialClusterState !== 'existing') {
    throw new ConfigError(`--initial-cluster-state: expected 'new' or 'existing', got ${JSON.stringify(config.initialClusterState)}`);
  }
  if (config.electionTimeout < 5 * config.heartbeatInterval) {
    throw new ConfigError('--election-timeout must be at least 5 times --heartbeat-interval');
  }
  parseInitialCluster(config.initialCluster);
  return config;
}

/**
 * Parses etcd's --initial-cluster: comma-separated name=URL pairs; a name given several times
 * collects several peer URLs, in order of first appearance.
 */
export function parseInitialCluster(text: string): Array<{ name: string; peerUrls: string[] }> {
  const byName = new Map<string, string[]>();
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new ConfigError(`--initial-cluster: expected name=URL, got ${JSON.stringify(part)}`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`--initial-cluster: ${JSON.stringify(url)} is not a URL`);
    }
    if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.pathname !== '/' || parsed.search !== '') {
      throw new ConfigError(`--initial-cluster: ${JSON.stringify(url)} must be http(s)://host:port`);
    }
    const urls = byName.get(name) ?? [];
    urls.push(url);
    byName.set(name, urls);
  }
  if (byName.size === 0) throw new ConfigError('--initial-cluster: expected at least one member');
  return [...byName].map(([name, peerUrls]) => ({ name, peerUrls }));
}
