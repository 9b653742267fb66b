// The member process's V8 heap settings: how much garbage the heap may hold, not how much data.
//
// A member's live JavaScript heap is small (~20 MiB at 100,000 keys: the data live in LMDB), but
// under write load V8's defaults let the heap reach several times that before collecting:
//   - the young generation grows to two 16 MiB semi-spaces, all of it resident afterwards;
//   - after each full collection the old generation may grow to up to 4x the live size (V8's
//     growing factor on machines with more than ~2 GiB for the heap) before the next one.
// Right after a burst of 100,000 puts a member held ~93 MiB of heap for ~19 MiB of live objects,
// and gave it back only once V8's memory reducer noticed the quiet (8 s or more later).
//
// Two settings bound the slack (measured: bench/kv-bench.ts --memory, README "Memory"):
//   - `--max-semi-space-size=8` (MiB): a young generation of 16 MiB instead of 32. What survives a
//     scavenge is the requests in flight, whatever the semi-space size, so scavenges cost about
//     the same and come twice as often (measured over the 100,000-put load: no more GC time than
//     the default; 4 MiB cost 5-10 % of range throughput at 64 connections, so not smaller). It is
//     a start-up flag (V8 sizes the young generation when the isolate is created), so the `keyward`
//     bin's shebang passes it (src/cli/main.ts), and so do `npm start` and the bench, which start
//     members with `node`.
//   - a growing factor of 2 (`--heap-growing-percent=100`): the old generation may double its
//     live size between full collections, the trade-off of Go's default (GOGC=100) that etcd runs
//     with. Read at every collection, so it can be set once the process runs (setMemberHeapFlags).
// And outside V8: `MALLOC_ARENA_MAX=2` in the environment (glibc reads it before main, so the
// shebang, `npm start`, `npm run cluster`, the bench and docker-compose set it): glibc otherwise
// gives each thread that mallocs (lmdb-js's writer, libuv's pool, V8's GC helpers) an arena of its
// own, each a few MiB resident. Measured: 3 members after 100,000 puts 185-188 -> 178-179 MiB;
// put throughput within noise, range at 64 connections about 8 % lower in two A/B pairs (17.4k
// and 17.0k vs 18.7k and 18.8k req/s) — ranges run at twice the target against etcd, memory at it.

import { setFlagsFromString } from 'node:v8';

/** The settings that may be changed in a running process; `keyward serve` calls it first. */
export function setMemberHeapFlags(): void {
  setFlagsFromString('--heap-growing-percent=100');
}
