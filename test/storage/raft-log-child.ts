// Child process for raft-log-crash.test.ts (not a test file itself). It writes to a RaftLogStore
// and prints one line per save only AFTER saveSync returned, i.e. after the write is durable; the
// parent SIGKILLs it at arbitrary moments and checks that every printed save survived.
//
//   append <dir> [saves]   prints "opened", then saves Readys of 1..16 entries (~300 bytes each)
//                          with hard state, forever or `saves` times, printing after each
//                          "saved <from> <to> <term> <vote> <commit>".
//   vote <dir> <term> <id> saves hard state (term, vote for id), prints "voted <term> <id>", waits.
import { writeSync } from 'node:fs';
import { RaftLogStore } from '../../src/storage/index.js';
import { payload } from './raft-helpers.js';

function main(): void {
  const [mode, dir, a, b] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: append|vote <dir> ...');
  const store = RaftLogStore.open(dir);
  if (mode === 'append') {
    writeSync(1, 'opened\n');
    const limit = a === undefined ? Infinity : Number(a);
    let hs = store.hardState();
    let term = Math.max(1, hs.term);
    let vote = hs.vote === 0n ? 1n : hs.vote;
    for (let save = 0; save < limit; save++) {
      if (save > 0 && save % 40 === 0) {
        term++;
        vote = BigInt(1 + (term % 3));
      }
      const from = store.lastIndex() + 1;
      const n = 1 + (save % 16);
      const entries = Array.from({ length: n }, (_, k) => ({ index: from + k, term, type: 'normal' as const, data: payload(from + k, term) }));
      hs = { term, vote, commit: from - 1 };
      store.saveSync({ hardState: hs, entries, snapshot: null, mustSync: true });
      writeSync(1, `saved ${from} ${from + n - 1} ${term} ${vote} ${hs.commit}\n`);
    }
    void store.close();
    return;
  }
  if (mode === 'vote') {
    const term = Number(a);
    const id = BigInt(b!);
    store.saveSync({ hardState: { term, vote: id, commit: store.hardState().commit }, entries: [], snapshot: null, mustSync: true });
    writeSync(1, `voted ${term} ${id}\n`);
    setInterval(() => undefined, 1000); // wait for the kill
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main();
