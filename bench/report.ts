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
}

/** Connection counts at which the issue sets the goal (Keyward >= 1.0x etcd, p99 no worse). */
export const GOAL_CONNECTIONS: readonly number[] = [16, 64];

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

export function compare(subject: TargetResult, baseline: TargetResult): Comparison[] {
  const out: Comparison[] = [];
  for (const s of subject.cells) {
    const b = baseline.cells.find((c) => c.op === s.op && c.connections === s.connections);
    if (b === undefined) continue;
    const throughputRatio = s.throughput / b.throughput;
    const p99Ratio = s.latencyMs.p99 / b.latencyMs.p99;
    out.push({
      subject: subject.label,
      baseline: baseline.label,
      op: s.op,
      connections: s.connections,
      throughputRatio,
      p99Ratio,
      p50Ratio: s.latencyMs.p50 / b.latencyMs.p50,
      meetsGoal: GOAL_CONNECTIONS.includes(s.connections)
        ? throughputRatio >= 1 && p99Ratio <= 1 && s.errors === 0
        : null,
    });
  }
  return out;
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

export function comparisonTable(cmp: Comparison[]): Table {
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
    notes: [`Goal at ${GOAL_CONNECTIONS.join(' and ')} connections: req/s ratio >= 1.00x and p99 ratio <= 1.00x, no errors.`],
  };
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
