// A raw watch stream for the checker: one `POST /v3/watch` to one member, one or more
// create_requests on it, every response line recorded per watcher as the member sent it. No
// resume, no client logic: what the member does is what gets checked. Independent of
// src/client so that a client defect cannot hide a server one (or the reverse).
import { request, type ClientRequest } from 'node:http';
import { request as requestTls } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { bytesToString, decodeWatchResult, encodeWatchRequest, type KeyValue, type WatchEvent, type WatchResponse } from '../../src/wire/index.js';
import type { KvState, ObservedEvent, Observation, WatcherSpec } from './checker.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export function kvState(kv: KeyValue): KvState {
  return { key: bytesToString(kv.key), value: bytesToString(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}

export function observedEvent(e: WatchEvent): ObservedEvent {
  const kv = e.kv!;
  return {
    type: e.type as 0 | 1,
    key: bytesToString(kv.key),
    value: bytesToString(kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    prevKv: e.prevKv === undefined ? null : kvState(e.prevKv),
  };
}

export function createRequestFor(spec: WatcherSpec) {
  return {
    key: enc(spec.key),
    rangeEnd: enc(spec.rangeEnd),
    startRevision: spec.startRevision,
    progressNotify: false,
    filters: [...(spec.noPut ? [0 as const] : []), ...(spec.noDelete ? [1 as const] : [])],
    prevKv: spec.prevKv,
    watchId: 0,
    fragment: false,
  };
}

export class RawStream {
  /** Observations per watcher, in create order. */
  readonly observations: Observation[][];
  private readonly req: ClientRequest;
  private buffer = '';
  private ids: number[] = [];
  /** Watchers the member canceled: progress answers no longer concern them. */
  private readonly canceled = new Set<number>();
  private created = 0;
  private ended = false;
  readonly done: Promise<void>;
  private lastProgress = 0;
  private progressWaiters: Array<{ min: number; resolve: (ok: boolean) => void }> = [];

  constructor(
    readonly url: string,
    readonly specs: WatcherSpec[],
    /** Pause after each chunk read, to act as a slow consumer (set to 0 to let it catch up). */
    public slowMs = 0,
    /** An https URL: the TLS options to connect with, a client certificate included (test/harness/tls-client.ts tlsConnection). */
    tls: ConnectionOptions | null = null,
  ) {
    this.observations = specs.map(() => []);
    const opts = { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } } as const;
    const target = new URL(url + '/v3/watch');
    this.req = tls === null ? request(target, opts) : requestTls(target, { ...tls, ...opts });
    this.req.setNoDelay(true);
    this.done = new Promise((resolve) => {
      const finish = (reason: string): void => {
        if (this.ended) return;
        this.ended = true;
        for (const obs of this.observations) obs.push({ kind: 'end', reason });
        for (const w of this.progressWaiters) w.resolve(false);
        this.progressWaiters = [];
        resolve();
      };
      this.req.on('error', (e) => finish(e.message));
      this.req.on('close', () => finish('closed'));
      this.req.on('response', (res) => {
        if (res.statusCode !== 200) {
          finish(`HTTP ${res.statusCode}`);
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          this.buffer += chunk;
          let nl = this.buffer.indexOf('\n');
          while (nl >= 0) {
            const line = this.buffer.slice(0, nl);
            this.buffer = this.buffer.slice(nl + 1);
            if (line.trim() !== '') this.onLine(line);
            nl = this.buffer.indexOf('\n');
          }
          if (this.slowMs > 0) {
            res.pause();
            setTimeout(() => res.resume(), this.slowMs);
          }
        });
        res.on('end', () => finish('stream ended'));
        res.on('error', (e) => finish(e.message));
      });
    });
    for (const s of specs) this.req.write(JSON.stringify(encodeWatchRequest({ type: 'create', create: createRequestFor(s) })) + '\n');
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private onLine(line: string): void {
    let res: WatchResponse;
    try {
      res = decodeWatchResult(JSON.parse(line));
    } catch (e) {
      for (const obs of this.observations) obs.push({ kind: 'canceled', reason: `undecodable line ${line.slice(0, 200)}: ${String(e)}` });
      this.req.destroy();
      return;
    }
    if (res.watchId === -1 && !res.created) {
      // A progress answer concerns every watcher of the stream.
      for (let i = 0; i < this.created; i++) if (!this.canceled.has(i)) this.observations[i]!.push({ kind: 'progress', revision: res.header.revision });
      this.lastProgress = res.header.revision;
      this.progressWaiters = this.progressWaiters.filter((w) => (w.min <= res.header.revision ? (w.resolve(true), false) : true));
      return;
    }
    if (res.created) {
      const i = this.created++;
      this.ids[i] = res.watchId;
      if (res.canceled) {
        this.canceled.add(i);
        this.observations[i]!.push({ kind: 'canceled', reason: res.cancelReason });
      } else this.observations[i]!.push({ kind: 'created', revision: res.header.revision });
      return;
    }
    const i = this.ids.indexOf(res.watchId);
    if (i < 0) return; // not ours (cannot happen: every create is ours)
    const obs = this.observations[i]!;
    if (res.canceled) {
      this.canceled.add(i);
      obs.push(res.compactRevision > 0 ? { kind: 'compacted', compactRevision: res.compactRevision } : { kind: 'canceled', reason: res.cancelReason });
      return;
    }
    if (res.events.length === 0) obs.push({ kind: 'progress', revision: res.header.revision });
    else obs.push({ kind: 'events', events: res.events.map(observedEvent) });
  }

  requestProgress(): void {
    if (!this.ended) this.req.write(JSON.stringify(encodeWatchRequest({ type: 'progress' })) + '\n');
  }

  /** Requests progress until an answer at `min` or above arrives; false if the stream ended or time ran out. */
  async progressAtLeast(min: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) {
      if (this.lastProgress >= min) return true;
      const got = new Promise<boolean>((resolve) => this.progressWaiters.push({ min, resolve }));
      this.requestProgress();
      const ok = await Promise.race([got, new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
      if (ok) return true;
    }
    return this.lastProgress >= min;
  }

  close(): Promise<void> {
    this.req.destroy();
    return this.done;
  }
}
