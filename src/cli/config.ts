import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { parseAutoCompaction } from '../server/index.js';

// Every setting of `keyward serve` is declared once here and read from, in order of precedence,
// a command-line flag (etcd's flag name), an environment variable (KEYWARD_ + the flag name in
// upper snake case, like etcd's ETCD_ variables), a YAML config file (--config-file, keys are the
// flag names, as in etcd's config file), and the default.

// 'bool' is etcd's boolean flag: `--insecure` alone means true, `--client-cert-auth=false` false.
// 'path' is an optional file name: no default, and left undefined when not given.
// 'names' is a comma-separated list of names, empty by default.
type Kind = 'string' | 'int' | 'urls' | 'level' | 'duration' | 'bool' | 'path' | 'names';

interface Setting<K extends Kind = Kind> {
  flag: string;
  kind: K;
  description: string;
  /**
   * Default value, or a function of the settings resolved so far (data dir depends on name);
   * undefined for a 'path' that has no default.
   */
  default: string | undefined | ((resolved: Partial<ServeConfig>) => string);
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
  snapshotCatchupEntries: number;
  /** etcd's --auto-compaction-mode: 'periodic' or 'revision'. */
  autoCompactionMode: string;
  /** etcd's --auto-compaction-retention as given ('0' = off); parsed by parseAutoCompaction. */
  autoCompactionRetention: string;
  heartbeatInterval: number;
  electionTimeout: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  logLevel: string;
  /** In milliseconds (the flag takes a Go duration such as 10m or 500ms). */
  experimentalWatchProgressNotifyInterval: number;
  /** In milliseconds (Go duration on the command line, as etcd 3.5's flag). */
  experimentalLeaseCheckpointInterval: number;
  /** Allow plaintext http:// URLs (each plaintext listener logs a warning); auth then starts disabled. */
  insecure: boolean;
  /** The CertStore directory (src/tls): generated on first run when TLS is in use and no explicit files are given. */
  certsDir: string;
  /** Client port TLS (etcd's flags); undefined: the certs dir's file. */
  certFile: string | undefined;
  keyFile: string | undefined;
  trustedCaFile: string | undefined;
  clientCrlFile: string | undefined;
  /** Require a client certificate on the client port (default true). */
  clientCertAuth: boolean;
  /** Peer port TLS (etcd's flags); undefined: the certs dir's file. */
  peerCertFile: string | undefined;
  peerKeyFile: string | undefined;
  peerTrustedCaFile: string | undefined;
  peerCrlFile: string | undefined;
  peerClientCertAuth: boolean;
  /** Member names (certificate CNs) accepted on the peer port; empty: any member of the peer CA. */
  peerCertAllowedCn: string[];
  /** Ed25519 PKCS#8 PEM that signs auth tokens; undefined: <certs-dir>/auth/token.key (generated) when secure. */
  authTokenKeyFile: string | undefined;
  /** Auth token lifetime in seconds. */
  authTokenTtl: number;
  /** Concurrent connections per client listener; beyond it new connections are closed at accept. */
  maxConnections: number;
  /** Host names accepted in requests' Host header besides IP literals, localhost and this member's client URL hosts; `*`: any (etcd's --host-whitelist). */
  hostWhitelist: string[];
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export const SETTINGS: Record<keyof ServeConfig, Setting> = {
  name: { flag: 'name', kind: 'string', default: 'default', description: 'human-readable name for this member' },
  // Resolved before the URL settings: their defaults are plaintext only with --insecure.
  insecure: {
    flag: 'insecure',
    kind: 'bool',
    default: 'false',
    description: 'allow plaintext http:// client and peer URLs (logged as a warning per listener); auth then starts disabled',
  },
  dataDir: {
    flag: 'data-dir',
    kind: 'string',
    default: (r) => `${r.name ?? 'default'}.keyward`,
    description: 'path to the data directory (default: ${name}.keyward)',
  },
  listenClientUrls: {
    flag: 'listen-client-urls',
    kind: 'urls',
    default: (r) => `${r.insecure === true ? 'http' : 'https'}://127.0.0.1:2379`,
    description: 'comma-separated URLs to listen on for client traffic (default: https://127.0.0.1:2379, http:// with --insecure)',
  },
  advertiseClientUrls: {
    flag: 'advertise-client-urls',
    kind: 'urls',
    default: (r) => `${r.insecure === true ? 'http' : 'https'}://127.0.0.1:2379`,
    description: "comma-separated list of this member's client URLs to advertise (default: https://127.0.0.1:2379, http:// with --insecure)",
  },
  listenPeerUrls: {
    flag: 'listen-peer-urls',
    kind: 'urls',
    default: (r) => `${r.insecure === true ? 'http' : 'https'}://127.0.0.1:2380`,
    description: 'comma-separated URLs to listen on for peer traffic (default: https://127.0.0.1:2380, http:// with --insecure)',
  },
  initialAdvertisePeerUrls: {
    flag: 'initial-advertise-peer-urls',
    kind: 'urls',
    default: (r) => `${r.insecure === true ? 'http' : 'https'}://127.0.0.1:2380`,
    description: "this member's peer URLs to advertise; with the cluster token they determine the member ID (default: https://127.0.0.1:2380, http:// with --insecure)",
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
    default: (r) => `${r.name ?? 'default'}=${(r.initialAdvertisePeerUrls ?? [`${r.insecure === true ? 'http' : 'https'}://127.0.0.1:2380`]).join(',')}`,
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
  autoCompactionMode: {
    flag: 'auto-compaction-mode',
    kind: 'string',
    default: 'periodic',
    description: "how --auto-compaction-retention is read: 'periodic' (a time window) or 'revision' (a number of revisions)",
  },
  autoCompactionRetention: {
    flag: 'auto-compaction-retention',
    kind: 'string',
    default: '0',
    description:
      'history kept by automatic compaction, 0 = off: in periodic mode hours or a duration (1h, 30m), compacted every min(retention, 1h); in revision mode a number of revisions, compacted every 5 minutes',
  },
  snapshotCatchupEntries: {
    flag: 'snapshot-catchup-entries',
    kind: 'int',
    default: '1000',
    description: 'entries kept in the log behind each snapshot, so a follower that lags by fewer catches up from the log instead of a whole snapshot (etcd 3.5: --experimental-snapshot-catchup-entries)',
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
  certsDir: {
    flag: 'certs-dir',
    kind: 'string',
    default: 'certs',
    description: 'certificate directory (keyward certs layout); generated on first run when TLS is used without --cert-file/--key-file/--trusted-ca-file',
  },
  certFile: { flag: 'cert-file', kind: 'path', default: undefined, description: 'client port server certificate (default: <certs-dir>/members/<name>/server.crt)' },
  keyFile: { flag: 'key-file', kind: 'path', default: undefined, description: 'key of --cert-file (default: <certs-dir>/members/<name>/server.key)' },
  trustedCaFile: { flag: 'trusted-ca-file', kind: 'path', default: undefined, description: 'CA that issues client certificates (default: <certs-dir>/ca/client-ca.crt)' },
  clientCrlFile: { flag: 'client-crl-file', kind: 'path', default: undefined, description: 'CRL for client certificates (default: <certs-dir>/ca/client-ca.crl when it exists)' },
  clientCertAuth: {
    flag: 'client-cert-auth',
    kind: 'bool',
    default: 'true',
    description: 'require a client certificate from the client CA on the client port (false: optional, a token suffices)',
  },
  peerCertFile: { flag: 'peer-cert-file', kind: 'path', default: undefined, description: 'peer certificate (default: <certs-dir>/members/<name>/peer.crt)' },
  peerKeyFile: { flag: 'peer-key-file', kind: 'path', default: undefined, description: 'key of --peer-cert-file (default: <certs-dir>/members/<name>/peer.key)' },
  peerTrustedCaFile: { flag: 'peer-trusted-ca-file', kind: 'path', default: undefined, description: 'CA that issues peer certificates (default: <certs-dir>/ca/peer-ca.crt)' },
  peerCrlFile: { flag: 'peer-crl-file', kind: 'path', default: undefined, description: 'CRL for peer certificates (default: <certs-dir>/ca/peer-ca.crl when it exists)' },
  peerClientCertAuth: { flag: 'peer-client-cert-auth', kind: 'bool', default: 'true', description: 'require a peer certificate from the peer CA on the peer port' },
  hostWhitelist: {
    flag: 'host-whitelist',
    kind: 'names',
    default: '',
    description: "comma-separated host names accepted in the Host header besides IP addresses, localhost and this member's client URL hosts ('*' accepts any; a DNS-rebinding defence)",
  },
  peerCertAllowedCn: {
    flag: 'peer-cert-allowed-cn',
    kind: 'names',
    default: '',
    description: 'comma-separated member names (certificate CNs) allowed on the peer port (default: any member of the peer CA)',
  },
  authTokenKeyFile: {
    flag: 'auth-token-key-file',
    kind: 'path',
    default: undefined,
    description: 'Ed25519 private key (PKCS#8 PEM, 0600) signing auth tokens, the same file on every member (default: <certs-dir>/auth/token.key, generated on first run)',
  },
  authTokenTtl: { flag: 'auth-token-ttl', kind: 'int', default: '300', description: 'lifetime of an auth token in seconds' },
  maxConnections: {
    flag: 'max-connections',
    kind: 'int',
    default: '10000',
    description: 'maximum concurrent connections per client listener (further connections are closed at accept)',
  },
};

/** URL settings whose http:// URLs are refused without --insecure: no plaintext port by default. */
export const TLS_REQUIRED_URL_SETTINGS: ReadonlyArray<keyof ServeConfig> = ['listenClientUrls', 'advertiseClientUrls', 'listenPeerUrls', 'initialAdvertisePeerUrls'];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function envName(flag: string): string {
  return 'KEYWARD_' + flag.toUpperCase().replace(/-/g, '_');
}

// Go's strconv.ParseBool, as etcd reads its boolean flags.
const TRUE_WORDS = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE_WORDS = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

function convert(setting: Setting, raw: unknown, source: string): string | number | string[] | boolean {
  const where = `--${setting.flag} (from ${source})`;
  // A boolean arrives as true from a bare flag (commander) and as a YAML boolean from a config file.
  const text = Array.isArray(raw) ? raw.join(',') : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
  if (typeof text !== 'string') throw new ConfigError(`${where}: expected a string, got ${JSON.stringify(raw)}`);
  switch (setting.kind) {
    case 'string':
    case 'path':
      if (text === '') throw new ConfigError(`${where}: must not be empty`);
      return text;
    case 'bool':
      if (TRUE_WORDS.includes(text)) return true;
      if (FALSE_WORDS.includes(text)) return false;
      throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(text)}`);
    case 'names': {
      const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
      return names;
    }
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
    let value: string | number | string[] | boolean | undefined;
    if (fromFlag !== undefined) value = convert(setting, fromFlag, 'command line');
    else if (fromEnv !== undefined) value = convert(setting, fromEnv, `$${envName(setting.flag)}`);
    else if (fromFile !== undefined && fromFile !== null) value = convert(setting, fromFile, configFile ?? 'config file');
    else {
      const d = typeof setting.default === 'function' ? setting.default(out as Partial<ServeConfig>) : setting.default;
      value = d === undefined ? undefined : convert(setting, d, 'default');
    }
    out[key] = value;
  }
  const config = out as ServeConfig;
  if (!config.insecure) {
    for (const key of TLS_REQUIRED_URL_SETTINGS) {
      const plain = (config[key] as string[]).filter((u) => u.startsWith('http:'));
      if (plain.length > 0) {
        throw new ConfigError(
          `--${SETTINGS[key].flag}: ${plain.map((u) => JSON.stringify(u)).join(', ')} is plaintext; use https:// (the default), or pass --insecure to allow plaintext`,
        );
      }
    }
  }
  if ((config.certFile === undefined) !== (config.keyFile === undefined)) {
    throw new ConfigError('--cert-file and --key-file must be given together');
  }
  if ((config.peerCertFile === undefined) !== (config.peerKeyFile === undefined)) {
    throw new ConfigError('--peer-cert-file and --peer-key-file must be given together');
  }
  if (config.initialClusterState !== 'new' && config.initialClusterState !== 'existing') {
    throw new ConfigError(`--initial-cluster-state: expected 'new' or 'existing', got ${JSON.stringify(config.initialClusterState)}`);
  }
  if (config.electionTimeout < 5 * config.heartbeatInterval) {
    throw new ConfigError('--election-timeout must be at least 5 times --heartbeat-interval');
  }
  try {
    parseAutoCompaction(config.autoCompactionMode, config.autoCompactionRetention);
  } catch (err) {
    throw new ConfigError(`--auto-compaction-mode/--auto-compaction-retention: ${(err as Error).message}`);
  }
  checkSelfReference(config, parseInitialCluster(config.initialCluster));
  return config;
}

/**
 * GUARANTEES D12: refuses an initial cluster that points back at this member under another name
 * — two names sharing a peer URL (etcd: "member exists with identical ID"; Keyward derives IDs
 * from peer URLs, so the two would silently collapse into one smaller cluster), or another
 * member's peer URL that is one of this member's own listeners (its messages would come back to
 * itself). Only literal addresses are compared (no DNS at startup): the same host and port, or
 * a wildcard listener (0.0.0.0, ::) and a loopback or local interface address on its port.
 */
function checkSelfReference(config: ServeConfig, members: ReadonlyArray<{ name: string; peerUrls: string[] }>): void {
  const owner = new Map<string, string>();
  for (const m of members) {
    for (const u of m.peerUrls) {
      const key = endpointOf(u);
      const other = owner.get(key);
      if (other !== undefined && other !== m.name) {
        throw new ConfigError(`--initial-cluster: members ${JSON.stringify(other)} and ${JSON.stringify(m.name)} share the peer URL ${u}; every member needs its own`);
      }
      owner.set(key, m.name);
    }
  }
  const own = [...config.listenPeerUrls, ...config.listenClientUrls, ...config.advertiseClientUrls];
  const local = localAddresses();
  for (const m of members) {
    if (m.name === config.name) continue;
    for (const u of m.peerUrls) {
      const mine = own.find((o) => sameListener(o, u, local));
      if (mine !== undefined) {
        throw new ConfigError(`--initial-cluster: member ${JSON.stringify(m.name)}'s peer URL ${u} is this member's own listener ${mine} (a self-referencing configuration: its messages would come back here)`);
      }
    }
  }
}

/** host:port of an http(s) URL, the port filled in from the scheme. */
function endpointOf(url: string): string {
  const u = new URL(url);
  return `${hostOf(u)}:${portOf(u)}`;
}

function hostOf(u: URL): string {
  const h = u.hostname.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function portOf(u: URL): string {
  return u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
}

function localAddresses(): Set<string> {
  const out = new Set(['localhost', '127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address.toLowerCase());
  return out;
}

/** Whether `peerUrl` reaches the listener `listenUrl` of this process (see checkSelfReference). */
function sameListener(listenUrl: string, peerUrl: string, local: ReadonlySet<string>): boolean {
  let l: URL;
  let p: URL;
  try {
    l = new URL(listenUrl);
    p = new URL(peerUrl);
  } catch {
    return false;
  }
  if (portOf(l) !== portOf(p)) return false;
  const lh = hostOf(l);
  const ph = hostOf(p);
  if (lh === ph) return true;
  if (lh === '0.0.0.0' || lh === '::') return local.has(ph) || ph.startsWith('127.');
  // A loopback listener is reached by any loopback name.
  const loop = (h: string): boolean => h === 'localhost' || h === '::1' || h.startsWith('127.');
  return loop(lh) && loop(ph) && (lh === 'localhost' || ph === 'localhost');
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
