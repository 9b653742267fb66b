// Result records (what bench/results/latest.json holds) and their rendering as text or
// Markdown tables.

import type { CellMeasurement } from './protocol.js';
import type { Op } from './workload.js';

export interface CellResult extends CellMeasurement {
  /** Server process-group CPU over the window, percent of one core; null when unknown. */
  serverCpuPct: number | null;
  /**
   * CPU of the other targets, idle while this one is measured (interleaved mode), percent of
   * one core; null when none. More than a few percent means background work (flushes,
   * snapshots) of one target bleeds into another's cell. With --rounds, the max over rounds.
   */
  idleTargetsCpuPct: number | null;
}

export interface TargetResult {
  label: string;
  kind: 'keyward' | 'etcd' | 'url' | 'constant';
  url: string | null;
  command: string[] | null;
  version: unknown;
  preload: { keys: number; elapsedMs: number } | null;
  /** One per matrix cell; with --rounds > 1, each combines that cell's rounds (medians). */
  cells: CellResult[];
  /** With --rounds > 1: every round of every cell, in the order of `cells`. */
  rounds?: CellResult[][];
  /** Why the target could not be (fully) measured; null when it was. */
  error: string | null;
  /**
   * Tenants mode: this is the secure Keyward again (same server as `keyward-secure`), its load
   * spread over this many tenants' users. Absent for every other target.
   */
  tenants?: number;
}

/** Connection counts at which the foundation issue sets the goal (Keyward >= 1.0x etcd, p99 no worse). */
export const GOAL_CONNECTIONS: readonly number[] = [16, 64];

/** A target for one (op, connections) cell of the comparison. */
export interface Goal {
  op: Op;
  connections: number;
  /** subject req/s ÷ baseline req/s must be at least this. */
  minThroughputRatio: number;
  /** subject p99 ÷ baseline p99 must be at most this; null = no latency condition. */
  maxP99Ratio: number | null;
}

/**
 * The goals of the issues. One member (foundation issue): every op at 16 and 64 connections,
 * req/s >= 1.0x and p99 <= 1.0x. Three members (Raft issue): put at 64 connections >= 1.5x
 * with p99 no worse; linearizable range >= 1.5x (the issue names no connection count; it is
 * applied at 16 and 64, where the foundation's goal applies); serializable range has none.
 */
export function goalsFor(members: number, ops: readonly Op[], connections: readonly number[]): Goal[] {
  const out: Goal[] = [];
  for (const op of ops) {
    for (const c of connections) {
      if (!GOAL_CONNECTIONS.includes(c)) continue;
      if (members <= 1) out.push({ op, connections: c, minThroughputRatio: 1, maxP99Ratio: 1 });
      else if (op === 'put' && c === 64) out.push({ op, connections: c, minThroughputRatio: 1.5, maxP99Ratio: 1 });
      else if (op === 'range') out.push({ op, connections: c, minThroughputRatio: 1.5, maxP99Ratio: null });
    }
  }
  return out;
}

function describeGoal(g: Goal): string {
  return `req/s >= ${g.minThroughputRatio.toFixed(2)}x${g.maxP99Ratio === null ? '' : ` and p99 <= ${g.maxP99Ratio.toFixed(2)}x`}`;
}

/** One line per distinct goal, naming the cells it applies to. */
export function goalNotes(goals: readonly Goal[]): string[] {
  const byText = new Map<string, Goal[]>();
  for (const g of goals) {
    const t = describeGoal(g);
    byText.set(t, [...(byText.get(t) ?? []), g]);
  }
  return [...byText].map(([text, gs]) => {
    const ops = [...new Set(gs.map((g) => g.op))].join(', ');
    const conns = [...new Set(gs.map((g) => g.connections))].join(' and ');
    return `Goal for ${ops} at ${conns} connections: ${text}, no errors.`;
  });
}

export interface Comparison {
  subject: string;
  baseline: string;
  op: Op;
  connections: number;
  /** subject req/s ÷ baseline req/s: higher is better, goal >= 1. */
  throughputRatio: number;
  /** subject p99 ÷ baseline p99: lower is better, goal <= 1. */
  p99Ratio: number;
  p50Ratio: number;
  /** null where no goal is set for this connection count. */
  meetsGoal: boolean | null;
}

export function compare(
  subject: TargetResult,
  baseline: TargetResult,
  goals: readonly Goal[] = goalsFor(1, ['put', 'range', 'range-s'], GOAL_CONNECTIONS),
): Comparison[] {
  const out: Comparison[] = [];
  for (const s of subject.cells) {
    const b = baseline.cells.find((c) => c.op === s.op && c.connections === s.connections);
    if (b === undefined) continue;
    const throughputRatio = s.throughput / b.throughput;
    const p99Ratio = s.latencyMs.p99 / b.latencyMs.p99;
    const goal = goals.find((g) => g.op === s.op && g.connections === s.connections);
    out.push({
      subject: subject.label,
      baseline: baseline.label,
      op: s.op,
      connections: s.connections,
      throughputRatio,
      p99Ratio,
      p50Ratio: s.latencyMs.p50 / b.latencyMs.p50,
      meetsGoal:
        goal === undefined
          ? null
          : throughputRatio >= goal.minThroughputRatio &&
            (goal.maxP99Ratio === null || p99Ratio <= goal.maxP99Ratio) &&
            s.errors === 0,
    });
  }
  return out;
}

/** Security issue (#5): the secure default keeps at least this share of the plain req/s. */
export const SECURE_MIN_RATIO = 0.75;

/** The security cost goal: secure req/s >= 0.75x plain at every op, at 16 and 64 connections (no latency condition). */
export function securityCostGoals(ops: readonly Op[], connections: readonly number[]): Goal[] {
  return ops.flatMap((op) =>
    connections.filter((c) => GOAL_CONNECTIONS.includes(c)).map((c) => ({ op, connections: c, minThroughputRatio: SECURE_MIN_RATIO, maxP99Ratio: null })),
  );
}

/**
 * Which pairs are compared: each started Keyward (and url:) target against the etcd of the
 * same security setting with the issues' goals, and each secure target against its plain self
 * (Keyward's with the 0.75x goal, etcd's for information).
 */
export function comparisonPairs(
  targets: readonly TargetResult[],
  goals: readonly Goal[],
  costGoals: readonly Goal[],
): Array<{ subject: TargetResult; baseline: TargetResult; goals: readonly Goal[] }> {
  const byLabel = (l: string): TargetResult | undefined => targets.find((t) => t.label === l && t.cells.length > 0);
  const out: Array<{ subject: TargetResult; baseline: TargetResult; goals: readonly Goal[] }> = [];
  const etcd = byLabel('etcd');
  const etcdSecure = byLabel('etcd-secure');
  for (const t of targets) {
    // Tenant variants are compared with their own baseline (tenantsTable), not with etcd.
    if (t.cells.length === 0 || t.kind === 'etcd' || t.kind === 'constant' || t.tenants !== undefined) continue;
    const base = t.label.endsWith('-secure') ? etcdSecure : etcd;
    if (base !== undefined) out.push({ subject: t, baseline: base, goals });
  }
  for (const kind of ['keyward', 'etcd']) {
    const plain = byLabel(kind);
    const secure = byLabel(`${kind}-secure`);
    if (plain !== undefined && secure !== undefined) out.push({ subject: secure, baseline: plain, goals: kind === 'keyward' ? costGoals : [] });
  }
  return out;
}

/**
 * The security issue's summary, one row per op and connection count: Keyward plain and secure
 * (req/s, p50, p99), secure/plain, etcd plain and secure, Keyward-secure/etcd-secure.
 */
export function securityTable(targets: readonly TargetResult[], goals: readonly Goal[], costGoals: readonly Goal[]): Table | null {
  const get = (l: string): TargetResult | undefined => targets.find((t) => t.label === l);
  const kw = get('keyward');
  const kws = get('keyward-secure');
  const et = get('etcd');
  const ets = get('etcd-secure');
  if (kws === undefined || kws.cells.length === 0) return null;
  const cellOf = (t: TargetResult | undefined, op: Op, c: number): CellResult | undefined => t?.cells.find((x) => x.op === op && x.connections === c);
  const rate = (x: CellResult | undefined): string => (x === undefined ? '-' : fmtRate(x.throughput));
  const lat = (x: CellResult | undefined): string => (x === undefined ? '-' : `${fmtMs(x.latencyMs.p50)}/${fmtMs(x.latencyMs.p99)}`);
  const ratio = (a: CellResult | undefined, b: CellResult | undefined): number => (a === undefined || b === undefined ? NaN : a.throughput / b.throughput);
  const verdict = (r: number, g: Goal | undefined, a: CellResult | undefined): string => {
    if (g === undefined || Number.isNaN(r)) return '';
    return r >= g.minThroughputRatio && (a?.errors ?? 0) === 0 ? 'met' : 'MISSED';
  };
  const rows: string[][] = [];
  for (const s of kws.cells) {
    const { op, connections: c } = s;
    const p = cellOf(kw, op, c);
    const e = cellOf(et, op, c);
    const es = cellOf(ets, op, c);
    const cost = ratio(s, p);
    const vsEtcd = ratio(s, es);
    const cmp = es === undefined ? undefined : compare({ ...kws, cells: [s] }, { ...ets!, cells: [es] }, goals)[0];
    rows.push([
      op,
      String(c),
      rate(p),
      lat(p),
      rate(s),
      lat(s),
      fmtRatio(cost),
      verdict(cost, costGoals.find((g) => g.op === op && g.connections === c), s),
      rate(e),
      rate(es),
      lat(es),
      fmtRatio(ratio(es, e)),
      fmtRatio(vsEtcd),
      cmp === undefined || cmp.meetsGoal === null ? '' : cmp.meetsGoal ? 'met' : 'MISSED',
    ]);
  }
  return {
    title: 'Security cost (mutual TLS + authorization as user bench, against the same without)',
    header: ['op', 'conns', 'kw req/s', 'kw p50/p99', 'kw-sec req/s', 'kw-sec p50/p99', 'sec/plain', 'goal', 'etcd req/s', 'etcd-sec req/s', 'etcd-sec p50/p99', 'etcd sec/plain', 'kw-sec/etcd-sec', 'goal'],
    numeric: [false, true, true, true, true, true, true, false, true, true, true, true, true, false],
    rows,
    notes: [
      `sec/plain goal: Keyward secure req/s >= ${SECURE_MIN_RATIO.toFixed(2)}x Keyward plain at ${GOAL_CONNECTIONS.join(' and ')} connections, no errors.`,
      ...goalNotes(goals).map((n) => `kw-sec/etcd-sec: ${n}`),
      'Latencies in ms. Keyward identifies the client by its certificate (CN=bench); etcd 3.4 by a simple token from /v3/auth/authenticate (its JSON gateway refuses client certificates with a CN).',
    ],
  };
}

/** Tenancy issue (#6): N tenants sharing the cluster keep at least this share of the req/s without tenants. */
export const TENANT_MIN_RATIO = 0.9;

/** The tenant cost goal: tenants' req/s >= 0.90x the cluster user's at every op, at 16 and 64 connections. */
export function tenantCostGoals(ops: readonly Op[], connections: readonly number[]): Goal[] {
  return ops.flatMap((op) =>
    connections.filter((c) => GOAL_CONNECTIONS.includes(c)).map((c) => ({ op, connections: c, minThroughputRatio: TENANT_MIN_RATIO, maxP99Ratio: null })),
  );
}

/** The tenant variants (keyward-tN) against their baseline, keyward-secure, with the 0.90x goal. */
export function tenantComparisons(targets: readonly TargetResult[]): Comparison[] {
  const base = targets.find((t) => t.label === 'keyward-secure' && t.cells.length > 0);
  if (base === undefined) return [];
  const goals = tenantCostGoals([...new Set(base.cells.map((c) => c.op))], [...new Set(base.cells.map((c) => c.connections))]);
  return targets.filter((t) => t.tenants !== undefined && t.cells.length > 0).flatMap((t) => compare(t, base, goals));
}

/**
 * The tenancy issue's summary, one row per op and connection count: the secure Keyward's load as
 * its cluster user `bench` (no tenant), then spread over 1, … N tenants' users, each with its
 * ratio to the baseline and the 0.90x goal; and the largest count against 1 tenant.
 */
export function tenantsTable(targets: readonly TargetResult[], members: number): Table | null {
  const base = targets.find((t) => t.label === 'keyward-secure');
  const variants = targets.filter((t) => t.tenants !== undefined).sort((a, b) => a.tenants! - b.tenants!);
  if (base === undefined || base.cells.length === 0 || variants.length === 0) return null;
  const cmp = tenantComparisons(targets);
  const cellOf = (t: TargetResult | undefined, op: Op, c: number): CellResult | undefined => t?.cells.find((x) => x.op === op && x.connections === c);
  const lat = (x: CellResult | undefined): string => (x === undefined ? '-' : `${fmtMs(x.latencyMs.p50)}/${fmtMs(x.latencyMs.p99)}`);
  const one = variants.find((v) => v.tenants === 1);
  const most = variants.at(-1)!;
  const vsOne = one !== undefined && most !== one;
  const header = ['op', 'conns', 'base req/s', 'base p50/p99'];
  for (const v of variants) header.push(`t${v.tenants} req/s`, `t${v.tenants} p50/p99`, `t${v.tenants}/base`, 'goal');
  if (vsOne) header.push(`t${most.tenants}/t1`);
  const rows: string[][] = [];
  for (const b of base.cells) {
    const { op, connections: c } = b;
    const row = [op, String(c), fmtRate(b.throughput), lat(b)];
    for (const v of variants) {
      const x = cellOf(v, op, c);
      const k = cmp.find((y) => y.subject === v.label && y.op === op && y.connections === c);
      row.push(x === undefined ? '-' : fmtRate(x.throughput), lat(x), k === undefined ? '-' : fmtRatio(k.throughputRatio), k?.meetsGoal == null ? '' : k.meetsGoal ? 'met' : 'MISSED');
    }
    if (vsOne) {
      const a = cellOf(most, op, c);
      const o = cellOf(one, op, c);
      row.push(a === undefined || o === undefined ? '-' : fmtRatio(a.throughput / o.throughput));
    }
    rows.push(row);
  }
  return {
    title: `Tenant cost (secure Keyward${members > 1 ? `, ${members} members` : ''}: cluster user bench = base, against the same connections spread over N tenants' users)`,
    header,
    numeric: header.map((_, i) => i === 1 || (i >= 2 && header[i] !== 'goal')),
    rows,
    notes: [
      `tN/base goal: req/s with N tenants >= ${TENANT_MIN_RATIO.toFixed(2)}x the cluster user's at ${GOAL_CONNECTIONS.join(' and ')} connections, no errors.`,
      "Latencies in ms. Same member(s), same keys (bench/key-<i>, each tenant's own under /t/<tenant>/) and values; connection k presents tenant k mod N's certificate (CN=bench, O=<tenant>).",
    ],
  };
}

/** Idle-target CPU (percent of a core) above which a cell gets a note. */
const IDLE_CPU_WARN_PCT = 10;

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function fmtRate(n: number): string {
  return Number.isFinite(n) ? intFmt.format(n) : '-';
}

export function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n < 1) return n.toFixed(3);
  if (n < 10) return n.toFixed(2);
  if (n < 100) return n.toFixed(1);
  return n.toFixed(0);
}

function fmtPct(n: number | null): string {
  return n === null || !Number.isFinite(n) ? '-' : `${n.toFixed(0)}%`;
}

function fmtRatio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}x` : '-';
}

export interface Table {
  title: string;
  header: string[];
  /** true = right-aligned column. */
  numeric: boolean[];
  rows: string[][];
  notes: string[];
}

export function cellRow(label: string, c: CellResult): string[] {
  return [
    label,
    c.op,
    String(c.connections),
    fmtRate(c.throughput),
    fmtMs(c.latencyMs.p50),
    fmtMs(c.latencyMs.p99),
    fmtMs(c.latencyMs.max),
    String(c.errors),
    fmtPct(c.genCpuPct),
    fmtPct(c.serverCpuPct),
  ];
}

const CELL_HEADER = ['target', 'op', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'gen CPU', 'srv CPU'];
const CELL_NUMERIC = [false, false, true, true, true, true, true, true, true, true];

export function ceilingTable(r: TargetResult): Table {
  return {
    title: 'Generator ceiling (load generator against a constant-answer node:http server)',
    header: [...CELL_HEADER, 'gen ELU', 'gen µs/req'],
    numeric: [...CELL_NUMERIC, true, true],
    rows: r.cells.map((c) => [...cellRow('constant', c), c.genElu.toFixed(2), c.genCpuUsPerReq.toFixed(1)]),
    notes: [...ceilingSummary(r), 'Generator and constant server share the cores: req/s here is a floor for the generator alone.'],
  };
}

/** One line: what the generator costs per request and the most it reached. */
export function ceilingSummary(r: TargetResult): string[] {
  const costs = r.cells.map((c) => c.genCpuUsPerReq).filter(Number.isFinite).sort((a, b) => a - b);
  if (costs.length === 0) return [];
  const median = costs[costs.length >> 1]!;
  const best = r.cells.reduce((a, c) => (c.throughput > a.throughput ? c : a));
  return [
    `generator: ${median.toFixed(1)} µs CPU per request (median over cells), i.e. ~${fmtRate(1e6 / median)} req/s per core; ` +
      `best seen ${fmtRate(best.throughput)} req/s (${best.op}, ${best.connections} conns, server CPU ${fmtPct(best.serverCpuPct)})`,
  ];
}

export function targetsTable(targets: TargetResult[]): Table {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const t of targets) {
    for (const c of t.cells) rows.push(cellRow(t.label, c));
    if (t.error !== null) notes.push(`${t.label}: ${t.error.split('\n')[0]}`);
    for (const c of t.cells) {
      if (c.firstError !== null && c.errors > 0) notes.push(`${t.label} ${c.op} c=${c.connections}: first error: ${c.firstError.slice(0, 160)}`);
      if (c.idleTargetsCpuPct !== null && c.idleTargetsCpuPct > IDLE_CPU_WARN_PCT) {
        notes.push(`${t.label} ${c.op} c=${c.connections}: the idle target(s) used ${fmtPct(c.idleTargetsCpuPct)} CPU meanwhile`);
      }
      if (c.genElu > 0.9) notes.push(`${t.label} ${c.op} c=${c.connections}: generator event loop ${Math.round(c.genElu * 100)}% busy; it may be the bottleneck`);
    }
  }
  return { title: 'Results', header: CELL_HEADER, numeric: CELL_NUMERIC, rows, notes };
}

export function comparisonTable(cmp: Comparison[], goals: readonly Goal[], notes: string[] = goalNotes(goals)): Table {
  const first = cmp[0];
  return {
    title: first === undefined ? 'Comparison' : `Comparison (${first.subject} / ${first.baseline})`,
    header: ['op', 'conns', 'req/s ratio', 'p50 ratio', 'p99 ratio', 'goal'],
    numeric: [false, true, true, true, true, false],
    rows: cmp.map((c) => [
      c.subject === first?.subject ? c.op : `${c.subject} ${c.op}`,
      String(c.connections),
      fmtRatio(c.throughputRatio),
      fmtRatio(c.p50Ratio),
      fmtRatio(c.p99Ratio),
      c.meetsGoal === null ? '' : c.meetsGoal ? 'met' : 'MISSED',
    ]),
    notes,
  };
}

/** `--memory`: one target's cluster after loading the key space through the API. */
export interface MemoryResult {
  label: string;
  kind: TargetResult['kind'];
  members: number;
  keys: number;
  valueSize: number;
  /** Time to load the keys (round-robin over the members); null when it failed. */
  loadMs: number | null;
  /** VmRSS of each member's main process 2 s after loading, KiB (null where unreadable). */
  rssKiB: Array<number | null>;
  /** The same after a minute idle (the steady state; empty when not measured). */
  rssIdleKiB: Array<number | null>;
  error: string | null;
}

const mib = (kib: number | null): string => (kib === null ? '-' : (kib / 1024).toFixed(1));

function known(xs: Array<number | null>): number[] {
  return xs.filter((x): x is number => x !== null);
}

/** Memory goal (Raft issue): each member's resident size <= etcd's. */
export const MEMORY_GOAL_RATIO = 1;

export function memoryTables(results: MemoryResult[]): Table[] {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const r of results) {
    r.rssKiB.forEach((kib, k) => rows.push([r.label, `m${k + 1}`, fmtRate(r.keys), mib(kib), mib(r.rssIdleKiB[k] ?? null), r.loadMs === null ? '-' : (r.loadMs / 1000).toFixed(1)]));
    if (r.error !== null) notes.push(`${r.label}: ${r.error.split('\n')[0]}`);
  }
  const first = results[0];
  if (first !== undefined) {
    notes.push(`VmRSS of each member's main process (/proc/<pid>/status) 2 s after loading ${fmtRate(first.keys)} keys of ${first.valueSize} bytes through POST /v3/kv/put, and again after 60 s idle (what a garbage-collected runtime keeps once it notices the quiet).`);
  }
  const tables: Table[] = [
    { title: 'Memory (resident set size per member)', header: ['target', 'member', 'keys', 'VmRSS MiB', 'idle MiB', 'load s'], numeric: [false, false, true, true, true, true], rows, notes },
  ];
  const etcd = results.find((r) => r.kind === 'etcd');
  const etcdRss = etcd === undefined ? [] : known(etcd.rssKiB);
  if (etcd !== undefined && etcd.error === null && etcdRss.length > 0) {
    const cmpRows: string[][] = [];
    const etcdIdle = known(etcd.rssIdleKiB);
    for (const r of results) {
      const rss = known(r.rssKiB);
      if (r === etcd || r.error !== null || rss.length === 0) continue;
      const maxRatio = Math.max(...rss) / Math.max(...etcdRss);
      const sumRatio = rss.reduce((a, x) => a + x, 0) / etcdRss.reduce((a, x) => a + x, 0);
      const idle = known(r.rssIdleKiB);
      const idleRatio = idle.length > 0 && etcdIdle.length > 0 ? Math.max(...idle) / Math.max(...etcdIdle) : null;
      const goal = (x: number | null): string => (x === null ? '-' : x <= MEMORY_GOAL_RATIO ? 'met' : 'MISSED');
      cmpRows.push([r.label, fmtRatio(maxRatio), fmtRatio(sumRatio), goal(maxRatio), idleRatio === null ? '-' : fmtRatio(idleRatio), goal(idleRatio)]);
    }
    if (cmpRows.length > 0) {
      tables.push({
        title: `Memory comparison (subject / ${etcd.label})`,
        header: ['target', 'largest member ratio', 'sum ratio', 'goal', 'idle largest ratio', 'idle goal'],
        numeric: [false, true, true, false, true, false],
        rows: cmpRows,
        notes: [`Goal: every member's VmRSS <= etcd's, checked as largest member / etcd's largest member <= ${MEMORY_GOAL_RATIO.toFixed(2)}x, 2 s after the load and after 60 s idle.`],
      });
    }
  }
  return tables;
}

export function renderText(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (t.numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [t.title, line(t.header), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)];
  for (const n of t.notes) out.push(`  * ${n}`);
  return out.join('\n');
}

export function renderMarkdown(t: Table): string {
  const out = [
    `**${t.title}**`,
    '',
    `| ${t.header.join(' | ')} |`,
    `|${t.numeric.map((n) => (n ? ' ---: ' : ' --- ')).join('|')}|`,
    ...t.rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  if (t.notes.length > 0) out.push('', ...t.notes.map((n) => `- ${n}`));
  return out.join('\n');
}
