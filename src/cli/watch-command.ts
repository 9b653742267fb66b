import { WatchError, type KvClient, type Watch, type WatchUpdate } from '../client/index.js';
import { bytesFromString, bytesToString, encodeWatchResponse, EventType, prefixEnd, type KeyValue } from '../wire/index.js';
import { UsageError, type Output } from './kv-commands.js';

// `keyward watch`: etcdctl's output. Simple: per event its type (PUT / DELETE), then with
// --prev-kv the previous key and value, then the key and value (a DELETE's value is an empty
// line). `-w json`: each response as the HTTP/JSON API writes it. Runs until the watch is closed
// (SIGINT, wired in main.ts); a compaction or a cancel by the member ends it with an error, as
// etcdctl ("watch was canceled (…)").

export interface WatchCommandOptions {
  prefix?: boolean;
  rev: string;
  prevKv?: boolean;
  progressNotify?: boolean;
}

export interface WatchOutput extends Output {
  warn(text: string): void;
}

/** Opens the watch the command line asks for. */
export function openWatch(kv: KvClient, key: string, rangeEnd: string | undefined, o: WatchCommandOptions): Watch {
  if (o.prefix && rangeEnd !== undefined) throw new UsageError('a range end cannot be given with --prefix');
  if (!/^[0-9]+$/.test(o.rev) || !Number.isSafeInteger(Number(o.rev))) throw new UsageError(`--rev must be a non-negative integer, got ${JSON.stringify(o.rev)}`);
  const k = bytesFromString(key);
  return kv.watch(k, {
    rangeEnd: o.prefix ? prefixEnd(k) : rangeEnd === undefined ? undefined : bytesFromString(rangeEnd),
    startRevision: Number(o.rev),
    prevKv: o.prevKv ?? false,
    progressNotify: o.progressNotify ?? false,
  });
}

function printKv(out: Output, kv: KeyValue | undefined): void {
  out.write(`${kv === undefined ? '' : bytesToString(kv.key)}\n${kv === undefined ? '' : bytesToString(kv.value)}\n`);
}

export function printUpdate(out: Output, u: WatchUpdate): void {
  if (out.format === 'json') {
    const res = {
      header: u.header,
      watchId: 0,
      created: false,
      canceled: false,
      compactRevision: 0,
      cancelReason: '',
      fragment: false,
      events: u.kind === 'events' ? u.events : [],
    };
    out.write(JSON.stringify(encodeWatchResponse(res)) + '\n');
    return;
  }
  if (u.kind === 'progress') {
    out.write(`progress notify: ${u.revision}\n`);
    return;
  }
  for (const e of u.events) {
    out.write(e.type === EventType.DELETE ? 'DELETE\n' : 'PUT\n');
    if (e.prevKv !== undefined) printKv(out, e.prevKv);
    printKv(out, e.kv);
  }
}

/** Prints every update until the watch is closed; a cancel by the member is an error. */
export async function runWatch(out: WatchOutput, watch: Watch): Promise<void> {
  try {
    for await (const u of watch) printUpdate(out, u);
  } catch (e) {
    if (e instanceof WatchError) {
      out.warn(`watch was canceled (${e.message})\n`);
      throw new Error('watch is canceled by the server');
    }
    throw e;
  }
}
