// Automatic compaction (etcd's --auto-compaction-mode / --auto-compaction-retention): the leader
// compacts the key-value history on its own so that an unattended cluster does not keep every
// revision forever — on disk, and in the in-memory key index (mvcc/keyindex.ts), which holds an
// entry per revision of every key until compaction.
//
// The decisions are a pure function of (time, current revision, compact revision), the clock an
// input, so they are tested without timers. As etcd 3.4:
//   - revision mode, retention N revisions: every 5 minutes, compact at current - N (if that is
//     ahead of the last compaction).
//   - periodic mode, retention R: keep what was written in the last R. Every R/10 the current
//     revision is sampled; every min(R, 1 h) the history is compacted at the newest sample taken
//     at least R ago. So the first compaction comes R plus one sampling step after start (the first
//     sample is taken then), and the history kept is R plus at most one sampling step.

export type AutoCompactionMode = 'periodic' | 'revision';

export interface AutoCompactionConfig {
  mode: AutoCompactionMode;
  /** periodic: milliseconds; revision: revisions. Positive. */
  retention: number;
}

const HOUR_MS = 3_600_000;
export const REVISION_CHECK_MS = 5 * 60_000;

/**
 * etcd's --auto-compaction-retention for `mode`: '0' (or '') is off (undefined); in periodic
 * mode a Go duration ('30m', '1h30m', '90s') or a bare number of hours; in revision mode a
 * positive integer. Throws RangeError with the reason otherwise.
 */
export function parseAutoCompaction(mode: string, retention: string): AutoCompactionConfig | undefined {
  if (mode !== 'periodic' && mode !== 'revision') throw new RangeError(`unknown auto-compaction mode ${JSON.stringify(mode)} (periodic or revision)`);
  const r = retention.trim();
  if (r === '' || r === '0') return undefined;
  if (mode === 'revision') {
    if (!/^[0-9]+$/.test(r) || !Number.isSafeInteger(Number(r))) throw new RangeError(`auto-compaction retention ${JSON.stringify(retention)} is not a number of revisions`);
    return { mode, retention: Number(r) };
  }
  if (/^[0-9]+$/.test(r)) {
    const hours = Number(r);
    if (!Number.isSafeInteger(hours * HOUR_MS)) throw new RangeError(`auto-compaction retention ${JSON.stringify(retention)} is too large`);
    return { mode, retention: hours * HOUR_MS };
  }
  const ms = parseDuration(r);
  if (ms === undefined) throw new RangeError(`auto-compaction retention ${JSON.stringify(retention)} is neither hours nor a duration such as 30m or 1h30m`);
  if (ms === 0) return undefined;
  return { mode, retention: ms };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS };

/** A Go-style duration of h, m, s and ms parts ('1h30m', '90s', '1.5h'), in milliseconds. */
function parseDuration(s: string): number | undefined {
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/y;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  return at === 0 || !Number.isFinite(total) ? undefined : Math.round(total);
}

/** When to check, and what to compact: see the header. */
export class AutoCompactor {
  /** How often `tick` should be called (ms). */
  readonly tickMs: number;
  private readonly compactEveryMs: number;
  private readonly samples: Array<{ at: number; revision: number }> = [];
  private lastCompactAt: number;

  constructor(
    private readonly cfg: AutoCompactionConfig,
    startedAt: number,
  ) {
    if (!(cfg.retention > 0)) throw new RangeError('auto-compaction retention must be positive');
    this.tickMs = cfg.mode === 'revision' ? REVISION_CHECK_MS : Math.max(1, Math.floor(cfg.retention / 10));
    this.compactEveryMs = cfg.mode === 'revision' ? REVISION_CHECK_MS : Math.min(cfg.retention, HOUR_MS);
    this.lastCompactAt = startedAt;
  }

  /**
   * Called every `tickMs` on every member (so a new leader has its samples): the revision to
   * compact at now, if any. `leader`: only the leader compacts.
   */
  tick(now: number, currentRevision: number, compactRevision: number, leader: boolean): number | undefined {
    if (this.cfg.mode === 'revision') {
      const target = currentRevision - this.cfg.retention;
      return leader && target > compactRevision && target > 0 ? target : undefined;
    }
    this.samples.push({ at: now, revision: currentRevision });
    // Samples older than the retention, but the newest of them, are of no further use.
    while (this.samples.length > 1 && now - this.samples[1]!.at >= this.cfg.retention) this.samples.shift();
    if (now - this.lastCompactAt < this.compactEveryMs) return undefined;
    const oldest = this.samples[0]!;
    if (now - oldest.at < this.cfg.retention) return undefined;
    this.lastCompactAt = now;
    return leader && oldest.revision > compactRevision ? oldest.revision : undefined;
  }
}
