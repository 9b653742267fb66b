// Loopback ports for members whose URLs must be known before they start (peer URLs go into
// --initial-cluster, so listen(0) cannot be used for them).
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';

/** Linux's ephemeral range, which outgoing connections take their local ports from. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // not Linux: assume the IANA dynamic range
  }
  return [49152, 65535];
}

const [EPHEMERAL_LO, EPHEMERAL_HI] = ephemeralRange();
/** Candidates outside the ephemeral range: an outgoing connection can never hold one of these. */
const CANDIDATES: Array<[number, number]> = (() => {
  const ranges: Array<[number, number]> = [];
  if (EPHEMERAL_LO > 10_000) ranges.push([10_000, EPHEMERAL_LO - 1]);
  if (EPHEMERAL_HI < 65_000) ranges.push([EPHEMERAL_HI + 1, 65_535]);
  if (ranges.length === 0) ranges.push([10_000, 65_535]); // no room outside: retries on start cover it
  return ranges;
})();
const SIZE = CANDIDATES.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);

function candidate(): number {
  let i = Math.floor(Math.random() * SIZE);
  for (const [lo, hi] of CANDIDATES) {
    if (i <= hi - lo) return lo + i;
    i -= hi - lo + 1;
  }
  return CANDIDATES[0]![0];
}

/** Ports handed out by this process: never handed out twice, even after their member stopped. */
const handedOut = new Set<number>();

/**
 * Claims the port across every test process of this run: scripts/run-tests.mjs gives them one
 * directory, and creating a file in it with O_EXCL succeeds in exactly one process. (Seen before
 * this existed: two members picked the same port and one failed with EADDRINUSE.)
 */
function claimAcrossProcesses(port: number): boolean {
  const dir = process.env['KEYWARD_TEST_PORT_DIR'];
  if (dir === undefined || dir === '') return true;
  try {
    closeSync(openSync(join(dir, String(port)), 'wx'));
    return true;
  } catch {
    return false;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = createServer();
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
}

/** A loopback port outside the ephemeral range that no other member of this test run was given. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = candidate();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (!claimAcrossProcesses(port)) continue;
    if (await bindable(port)) return port;
  }
}
