import { KeywardError, type ClusterClient } from '../client/index.js';
import {
  encodeMemberAddResponse,
  encodeMemberListResponse,
  encodeMemberPromoteResponse,
  encodeMemberRemoveResponse,
  encodeMemberUpdateResponse,
  encodeMoveLeaderResponse,
  encodeStatusResponse,
  type Member,
  type MemberAddResponse,
  type StatusResponse,
} from '../wire/index.js';
import { UsageError, type Output } from './kv-commands.js';

// etcdctl-like cluster commands: member list|add|remove|update|promote, endpoint status and
// move-leader. Simple output follows etcdctl 3.4 line for line (with KEYWARD_ in place of ETCD_);
// `-w table` draws etcdctl's table; `-w json` prints the response as the HTTP/JSON API returns it.
// The formatting functions are pure and exported for tests; the run* functions call the client.

/** Output with a second stream for per-endpoint failures that do not stop the command. */
export interface ClusterOutput extends Output {
  warn(text: string): void;
}

// ---------------------------------------------------------------------------------------------
// Parsing

const UINT64_MAX = 2n ** 64n - 1n;

/** A member ID as etcdctl takes it: hexadecimal, without `0x`, at most 64 bits. */
export function parseMemberId(text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new UsageError(`bad member ID arg ${JSON.stringify(text)}, expecting ID in hex`);
  return BigInt('0x' + text);
}

/** A comma-separated URL list (`--peer-urls`). Each must parse as a URL; the server checks the rest. */
export function parsePeerUrls(text: string | undefined): string[] {
  const urls = (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (urls.length === 0) throw new UsageError('member peer urls not provided');
  for (const u of urls) {
    if (!URL.canParse(u)) throw new UsageError(`${JSON.stringify(u)} is not a URL`);
  }
  return urls;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** `%x` of a member ID, as etcdctl prints IDs in lists. */
export function hexId(id: bigint): string {
  if (id < 0n || id > UINT64_MAX) throw new TypeError(`not a member ID: ${id}`);
  return id.toString(16);
}

/** `%16x`: hexadecimal, right-aligned in 16 columns (space-padded), as etcdctl's confirmations. */
function hex16(id: bigint): string {
  return hexId(id).padStart(16, ' ');
}

/**
 * A byte count as etcdctl prints DB sizes (SI units, one decimal below 10): 7 B, 25 kB, 1.6 MB.
 */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let e = Math.min(Math.floor(Math.log10(n) / 3), units.length - 1);
  let val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  // Rounding can carry into the next unit (999_999 -> 1000.0 kB).
  if (val >= 1000 && e < units.length - 1) {
    e++;
    val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  }
  // val has one decimal; print it as Go's %.1f / %.0f would, whose rounding is half to even
  // (20.5 -> "20"), where JS's toFixed would round half up.
  const tenths = Math.round(val * 10);
  const whole = Math.floor(tenths / 10);
  const frac = tenths % 10;
  if (val < 10) return `${whole}.${frac} ${units[e]}`;
  const rounded = frac > 5 || (frac === 5 && whole % 2 === 1) ? whole + 1 : whole;
  return `${rounded} ${units[e]}`;
}

/** A boxed table like etcdctl's `-w table`: centred upper-case headers, left-aligned cells. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const line = (cells: readonly string[], pad: (s: string, w: number) => string): string =>
    '|' + widths.map((w, i) => ` ${pad(cells[i] ?? '', w)} `).join('|') + '|\n';
  const centre = (s: string, w: number): string => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  let out = rule + line(header.map((h) => h.toUpperCase()), centre) + rule;
  for (const r of rows) out += line(r, (s, w) => s.padEnd(w));
  return out + rule;
}

const MEMBER_HEADER = ['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'];

/** One row per member: ID (hex), started|unstarted, name, peer URLs, client URLs, is learner. */
export function memberRows(members: readonly Member[]): string[][] {
  return members.map((m) => [
    hexId(m.id),
    // A member that has not started yet has not published its name (etcdctl's rule).
    m.name === '' ? 'unstarted' : 'started',
    m.name,
    m.peerUrls.join(','),
    m.clientUrls.join(','),
    String(m.isLearner),
  ]);
}

export function formatMemberList(members: readonly Member[], format: 'simple' | 'table'): string {
  const rows = memberRows(members);
  if (format === 'table') return formatTable(MEMBER_HEADER, rows);
  return rows.map((r) => r.join(', ') + '\n').join('');
}

/**
 * What `member add` prints: the confirmation, then the settings the new member must start with,
 * as environment variables `keyward serve` reads (etcdctl prints the same with ETCD_).
 * KEYWARD_INITIAL_CLUSTER lists every member's peer URLs, the new member under `name`.
 */
export function formatMemberAdd(res: MemberAddResponse, name: string, peerUrls: readonly string[]): string {
  const as = res.member.isLearner ? ' as learner ' : ' ';
  let out = `Member ${hex16(res.member.id)} added${as}to cluster ${hex16(res.header.clusterId)}\n`;
  const members = res.members.some((m) => m.id === res.member.id) ? res.members : [...res.members, res.member];
  const cluster: string[] = [];
  for (const m of members) {
    for (const u of m.peerUrls) cluster.push(`${m.id === res.member.id ? name : m.name}=${u}`);
  }
  out += '\n';
  out += `KEYWARD_NAME=${JSON.stringify(name)}\n`;
  out += `KEYWARD_INITIAL_CLUSTER=${JSON.stringify(cluster.join(','))}\n`;
  out += `KEYWARD_INITIAL_ADVERTISE_PEER_URLS=${JSON.stringify(peerUrls.join(','))}\n`;
  out += 'KEYWARD_INITIAL_CLUSTER_STATE="existing"\n';
  return out;
}

export interface EndpointStatus {
  endpoint: string;
  status: StatusResponse;
}

const STATUS_HEADER = ['Endpoint', 'ID', 'Version', 'DB Size', 'Is Leader', 'Is Learner', 'Raft Term', 'Raft Index', 'Raft Applied Index', 'Errors'];

export function statusRow({ endpoint, status: s }: EndpointStatus): string[] {
  return [
    endpoint,
    hexId(s.header.memberId),
    s.version,
    humanBytes(s.dbSize),
    String(s.leader === s.header.memberId),
    String(s.isLearner),
    String(s.raftTerm),
    String(s.raftIndex),
    String(s.raftAppliedIndex),
    s.errors.join(', '),
  ];
}

export function formatEndpointStatus(list: readonly EndpointStatus[], format: Output['format']): string {
  if (format === 'json') {
    return JSON.stringify(list.map((e) => ({ Endpoint: e.endpoint, Status: encodeStatusResponse(e.status) }))) + '\n';
  }
  const rows = list.map(statusRow);
  if (format === 'table') return formatTable(STATUS_HEADER, rows);
  return rows.map((r) => r.join(', ') + '\n').join('');
}

// ---------------------------------------------------------------------------------------------
// Commands

const json = (value: unknown): string => JSON.stringify(value) + '\n';

export async function runMemberList(cluster: ClusterClient, out: Output, o: { consistency?: string } = {}): Promise<void> {
  const consistency = o.consistency ?? 'l';
  if (consistency !== 'l' && consistency !== 's') throw new UsageError('--consistency must be l or s');
  const res = await cluster.memberList({ linearizable: consistency === 'l' });
  if (out.format === 'json') return out.write(json(encodeMemberListResponse(res)));
  out.write(formatMemberList(res.members, out.format));
}

export async function runMemberAdd(
  cluster: ClusterClient,
  out: Output,
  name: string,
  o: { peerUrls?: string; learner?: boolean },
): Promise<void> {
  if (name === '') throw new UsageError('member name not provided');
  const peerUrls = parsePeerUrls(o.peerUrls);
  const res = await cluster.memberAdd(peerUrls, { isLearner: o.learner ?? false });
  if (out.format === 'json') return out.write(json(encodeMemberAddResponse(res)));
  out.write(formatMemberAdd(res, name, peerUrls));
}

export async function runMemberRemove(cluster: ClusterClient, out: Output, idText: string): Promise<void> {
  const id = parseMemberId(idText);
  const res = await cluster.memberRemove(id);
  if (out.format === 'json') return out.write(json(encodeMemberRemoveResponse(res)));
  out.write(`Member ${hex16(id)} removed from cluster ${hex16(res.header.clusterId)}\n`);
}

export async function runMemberUpdate(cluster: ClusterClient, out: Output, idText: string, o: { peerUrls?: string }): Promise<void> {
  const id = parseMemberId(idText);
  const res = await cluster.memberUpdate(id, parsePeerUrls(o.peerUrls));
  if (out.format === 'json') return out.write(json(encodeMemberUpdateResponse(res)));
  out.write(`Member ${hex16(id)} updated in cluster ${hex16(res.header.clusterId)}\n`);
}

export async function runMemberPromote(cluster: ClusterClient, out: Output, idText: string): Promise<void> {
  const id = parseMemberId(idText);
  const res = await cluster.memberPromote(id);
  if (out.format === 'json') return out.write(json(encodeMemberPromoteResponse(res)));
  out.write(`Member ${hex16(id)} promoted in cluster ${hex16(res.header.clusterId)}\n`);
}

/** The client URLs of every started member, in member-list order, each once. */
export async function clusterEndpoints(cluster: ClusterClient): Promise<string[]> {
  const res = await cluster.memberList();
  const seen = new Set<string>();
  for (const m of res.members) for (const u of m.clientUrls) seen.add(u.replace(/\/+$/, ''));
  return [...seen];
}

/**
 * Prints the status of every endpoint (`--cluster`: of every member, found with member list).
 * Endpoints that do not answer are reported on the warning stream and the command then fails, as
 * etcdctl does, after printing the others.
 */
export async function runEndpointStatus(
  cluster: ClusterClient,
  out: ClusterOutput,
  endpoints: readonly string[],
  o: { cluster?: boolean } = {},
): Promise<void> {
  const targets = o.cluster ? await clusterEndpoints(cluster) : endpoints;
  const answered: EndpointStatus[] = [];
  let failed = 0;
  // Asked in parallel: one slow or dead member must not hold the others' rows back by a timeout each.
  const results = await Promise.allSettled(targets.map((ep) => cluster.status(ep)));
  results.forEach((r, i) => {
    const endpoint = targets[i] as string;
    if (r.status === 'fulfilled') {
      answered.push({ endpoint, status: r.value });
      return;
    }
    if (!(r.reason instanceof KeywardError)) throw r.reason;
    failed++;
    out.warn(`Failed to get the status of endpoint ${endpoint} (${r.reason.message})\n`);
  });
  out.write(formatEndpointStatus(answered, out.format));
  if (failed > 0) throw new Error(`${failed} of ${targets.length} endpoints did not answer`);
}

/**
 * Transfers leadership to the member `idText` (hex). The request goes to the leader: the endpoint
 * among `endpoints` that says it leads, else the leader's client URL from member list (so a single
 * endpoint of any member is enough).
 */
export async function runMoveLeader(cluster: ClusterClient, out: Output, endpoints: readonly string[], idText: string): Promise<void> {
  const target = parseMemberId(idText);
  let leaderId: bigint | undefined;
  let leaderEndpoint: string | undefined;
  let lastError: unknown;
  for (const ep of endpoints) {
    let s: StatusResponse;
    try {
      s = await cluster.status(ep);
    } catch (err) {
      if (!(err instanceof KeywardError)) throw err;
      lastError = err;
      continue;
    }
    if (s.leader === 0n) continue;
    leaderId = s.leader;
    if (s.leader === s.header.memberId) {
      leaderEndpoint = ep;
      break;
    }
  }
  if (leaderId === undefined) {
    if (lastError !== undefined) throw lastError;
    throw new UsageError(`no leader known at ${endpoints.join(',')}`);
  }
  if (leaderEndpoint === undefined) {
    const list = await cluster.memberList();
    leaderEndpoint = list.members.find((m) => m.id === leaderId)?.clientUrls[0];
    if (leaderEndpoint === undefined) throw new UsageError(`the leader ${hexId(leaderId)} has no client URL in the member list`);
  }
  const res = await cluster.moveLeader(target, leaderEndpoint);
  if (out.format === 'json') return out.write(json(encodeMoveLeaderResponse(res)));
  out.write(`Leadership transferred from ${hexId(leaderId)} to ${hexId(target)}\n`);
}
