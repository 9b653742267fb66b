// Crash tests with real processes: a child writes to a RaftLogStore and prints a line after each
// save returned; the parent SIGKILLs it at arbitrary moments and reopens the store. Everything
// acknowledged must be there, byte for byte, and the store must open cleanly (GUARANTEES L4, L12).
//
// A process kill leaves the page cache intact, so it proves the ordering (nothing acknowledged
// before the commit) but not the fsync itself. The strace test proves that part: on the thread
// that prints the acknowledgement, an fdatasync of the log happens between consecutive acks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RaftLogStore } from '../../src/storage/index.js';
import { withTmpDir } from '../harness/tmpdir.js';
import { payload } from './raft-helpers.js';

const CHILD = fileURLToPath(new URL('./raft-log-child.ts', import.meta.url));

interface Run {
  lines: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child; once `killAfter(lines)` says so, SIGKILLs it. Resolves with every complete line it printed. */
function runChild(args: string[], killAfter: (lines: string[]) => boolean): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let killed = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    lines.push(line);
    if (!killed && killAfter(lines)) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  return new Promise((resolve) => {
    child.once('close', (_code, signal) => resolve({ lines, signal, stderr }));
  });
}

interface Ack {
  from: number;
  to: number;
  term: number;
  vote: bigint;
  commit: number;
}

function parseAck(line: string): Ack {
  const [word, from, to, term, vote, commit] = line.split(' ');
  assert.equal(word, 'saved', line);
  return { from: Number(from), to: Number(to), term: Number(term), vote: BigInt(vote!), commit: Number(commit) };
}

test('L4: every save acknowledged before a SIGKILL is in the log after reopening, byte for byte', { timeout: 120_000 }, async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('raft');
    const acked: Ack[] = [];
    // Kill after a varying number of acks; the kill lands wherever the child happens to be,
    // often inside a save (the child saves in a tight loop).
    for (const after of [25, 90, 7, 150, 60]) {
      const run = await runChild(['append', dir], (lines) => lines.length > after);
      assert.equal(run.signal, 'SIGKILL', run.stderr);
      assert.equal(run.lines[0], 'opened');
      assert.ok(run.lines.length > after);
      acked.push(...run.lines.slice(1).map(parseAck));
      const last = acked[acked.length - 1]!;

      const store = RaftLogStore.open(dir); // opens cleanly: no torn record, no CORRUPT
      try {
        assert.ok(store.lastIndex() >= last.to, `last index ${store.lastIndex()} lost acked ${last.to}`);
        const hs = store.hardState();
        assert.ok(hs.term > last.term || (hs.term === last.term && hs.vote === last.vote), `hard state ${hs.term}/${hs.vote}`);
        assert.ok(hs.commit >= last.commit);
        // Every acknowledged entry, with the term it was acknowledged with, and its exact bytes.
        const ents = store.entries(1, store.lastIndex() + 1, Infinity);
        assert.equal(ents.length, store.lastIndex());
        for (const e of ents) assert.deepEqual(e.data, payload(e.index, e.term), `entry ${e.index}`);
        for (const a of acked) for (let i = a.from; i <= a.to; i++) assert.equal(ents[i - 1]!.term, a.term, `entry ${i}`);
      } finally {
        await store.close();
      }
      // The next child continues after whatever the killed one managed to write; the parent's
      // acked list must stay a prefix of the log, so drop nothing and continue.
    }
  });
});

test('L12: a vote acknowledged before a SIGKILL is the vote found after restart, and cannot be changed', { timeout: 60_000 }, async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('raft');
    for (const [term, id] of [
      [1, 2n],
      [2, 3n],
      [5, 1n],
    ] as const) {
      const run = await runChild(['vote', dir, String(term), String(id)], (lines) => lines.length >= 1);
      assert.equal(run.signal, 'SIGKILL', run.stderr);
      assert.deepEqual(run.lines, [`voted ${term} ${id}`]);
      const store = RaftLogStore.open(dir);
      try {
        assert.equal(store.hardState().term, term);
        assert.equal(store.hardState().vote, id);
        // The restarted voter cannot be made to grant a second vote in that term.
        assert.throws(() => store.saveSync({ hardState: { term, vote: id + 1n, commit: 0 }, entries: [], snapshot: null }), /already has a saved vote/);
      } finally {
        await store.close();
      }
    }
  });
});

const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' });
const noStrace = strace.status !== 0 ? 'strace is not available' : false;

test('fsync before acknowledgement: on the acknowledging thread, an fdatasync of the log precedes every ack', { skip: noStrace, timeout: 60_000 }, async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('raft');
    const trace = tmp.sub('trace');
    const res = spawnSync(
      'strace',
      ['-f', '-qq', '-o', trace, '-e', 'trace=openat,fdatasync,fsync,write', process.execPath, '--import', 'tsx', CHILD, 'append', dir, '40'],
      { encoding: 'utf8' },
    );
    if (res.status !== 0 && /ptrace|Operation not permitted/.test(res.stderr)) return; // no ptrace here: nothing to prove
    assert.equal(res.status, 0, res.stderr);
    const lines = readFileSync(trace, 'utf8').split('\n');
    // The data file's descriptor(s) (LMDB may open it more than once).
    const dataFds = new Set<string>();
    for (const l of lines) {
      const m = /openat\(.*\/raft\/data\.mdb".*\) = (\d+)/.exec(l);
      if (m) dataFds.add(m[1]!);
    }
    assert.ok(dataFds.size > 0, 'data.mdb was not opened?');
    // The thread that prints; counting starts at its "opened" line (opening writes too).
    const opened = lines.find((l) => /write\(1, "opened/.test(l));
    assert.ok(opened !== undefined);
    const ackPid = opened.split(' ')[0]!;
    let syncsSinceAck = 0;
    let acks = 0;
    for (const l of lines.slice(lines.indexOf(opened) + 1)) {
      const pid = l.split(' ')[0]!;
      const sync = /^\d+\s+f(?:data)?sync\((\d+)\)\s+= 0/.exec(l);
      if (sync && dataFds.has(sync[1]!) && pid === ackPid) syncsSinceAck++;
      if (/write\(1, "saved /.test(l)) {
        assert.equal(pid, ackPid, 'acks come from one thread');
        assert.ok(syncsSinceAck >= 1, `ack ${acks + 1} was not preceded by an fdatasync of the log on its thread:\n${l}`);
        syncsSinceAck = 0;
        acks++;
      }
    }
    assert.equal(acks, 40);
  });
});
