// Experiment (not a test, not product code): how lmdb-js commits and flushes. src/storage is built
// on what it shows. Run it under strace to see which thread fsyncs and when:
//
//   strace -f -e trace=fdatasync,fsync,pwrite64,write -o /tmp/lmdb.trace \
//     node --import tsx bench/lmdb-durability.ts
//   grep -E 'MARK|sync|pwrite64' /tmp/lmdb.trace
//
// Observed with lmdb 3.5.6, Node 20, Linux (overlappingSync on by default):
// 1. `put` / `transaction` / `childTransaction`: the main thread prints "queued", the write worker
//    thread pwrites the meta page (commit, no sync) and the promise resolves ("committed", the data
//    is visible to `get`); the worker then fdatasyncs and writes a synced meta page, after which
//    `db.flushed` resolves.
// 2. `transactionSync`: the fdatasync runs on the MAIN thread before it returns (event loop
//    blocked for the whole fsync); `db.flushed` is then already resolved.
// 3. A throwing `transaction` callback: its writes are committed anyway (partial!). A throwing
//    `childTransaction` or `transactionSync` callback: nothing is written.
// 4. Binary keys sort bytewise with a proper prefix first: 00 < 0000 < 00ff < 01 < ff.
// 5. Timing (printed below): a 64-put batch costs about the same wall time either way (one fsync),
//    but `transactionSync` keeps the event loop busy for all of it while the async forms leave it
//    mostly idle (event loop utilisation ~0.3 vs 1.0).
import { open } from 'lmdb';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const mark = (s: string): void => {
  writeSync(2, `MARK ${s}\n`);
};
const dir = mkdtempSync(join(tmpdir(), 'lmdb-durability-'));
const env = open({ path: dir, noSubdir: false, maxDbs: 2 });
const db = env.openDB<Uint8Array, Uint8Array>('a', { keyEncoding: 'binary', encoding: 'binary' });
const k = (s: string): Buffer => Buffer.from(s);

mark('put queued');
await db.put(k('x'), k('1'));
mark(`put resolved (committed); visible=${String(db.get(k('x')))}`);
await db.flushed;
mark('db.flushed resolved');

const viaTxn = env.transaction(() => {
  db.put(k('y'), k('2'));
  return String(db.get(k('y')));
});
mark('transaction queued');
mark(`transaction resolved; callback read its own write: ${await viaTxn}`);
await env.flushed;
mark('env.flushed resolved');

mark('transactionSync start');
env.transactionSync(() => {
  db.put(k('z'), k('3'));
});
mark('transactionSync returned');

await env.transaction(() => {
  db.put(k('partial1'), k('p'));
  throw new Error('boom');
}).catch(() => undefined);
await env.childTransaction(() => {
  db.put(k('partial2'), k('p'));
  throw new Error('boom');
}).catch(() => undefined);
try {
  env.transactionSync(() => {
    db.put(k('partial3'), k('p'));
    throw new Error('boom');
  });
} catch {
  // expected
}
mark(
  `after throwing callbacks: transaction kept=${db.get(k('partial1')) !== undefined} ` +
    `childTransaction kept=${db.get(k('partial2')) !== undefined} transactionSync kept=${db.get(k('partial3')) !== undefined}`,
);

for (const h of ['ff', '00ff', '01', '0000', '00']) db.putSync(Buffer.from(h, 'hex'), k('v'));
mark(`order: ${[...db.getKeys({ start: Buffer.from([0]), end: Buffer.from([0x02]) })].map((x) => Buffer.from(x).toString('hex')).join(' ')}`);

const value = Buffer.alloc(100, 1);
let n = 0;
const batch = (): void => {
  for (let i = 0; i < 64; i++) db.put(k(`key${n++ % 10000}`), value);
};
async function time(name: string, fn: () => Promise<void>): Promise<void> {
  const rounds = 300;
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await fn();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  console.log(`${name.padEnd(28)} ${((performance.now() - t0) / rounds).toFixed(3)} ms/batch  ELU ${elu.toFixed(2)}`);
}
await time('transactionSync', async () => {
  env.transactionSync(batch);
});
await time('childTransaction + flushed', async () => {
  await env.childTransaction(batch);
  await env.flushed;
});
await env.close();
rmSync(dir, { recursive: true, force: true });
