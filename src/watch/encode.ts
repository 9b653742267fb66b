// What a stream hands its consumer, and how it is encoded once for many watchers.
//
// ARCHITECTURE.md (performance): encode each event once and share the text among every watcher
// that wants the same form. An EventTexts covers one list of events (one revision at notify, one
// history page at catch-up): each event's JSON is built at most once per form (with or without
// prev_kv), and each distinct event list at most once per form, so N watchers on one prefix cost
// one encoding of the revision plus N small headers. The response text then only concatenates
// (V8 keeps the shared part as one string referenced by every message).
import type { ChangeEvent } from '../mvcc/index.js';
import {
  encodeWatchEventListText,
  encodeWatchEventText,
  encodeWatchResultText,
  encodeWatchResultTextFrom,
  EventType,
  INVALID_WATCH_ID,
  type ResponseHeader,
  type WatchResponse,
} from '../wire/index.js';

export type WatchMessageKind = 'created' | 'events' | 'progress' | 'canceled';

/** One response of a watch stream, encoded. */
export interface WatchMessage {
  readonly kind: WatchMessageKind;
  /** The response's watch_id (-1 for a progress answer to the whole stream or a refused create). */
  readonly watchId: number;
  /** header.revision (0 in the compaction cancel, as etcd sends it). */
  readonly revision: number;
  /** mod_revision of the last event; 0 without events. The SSE form uses it as the event id. */
  readonly lastEventRevision: number;
  readonly eventCount: number;
  /** More fragments of the same response follow (only for watchers created with `fragment`). */
  readonly fragment: boolean;
  /** `{"result":WatchResponse}`: one line of the HTTP stream, without the newline. */
  readonly text: string;
}

/** Encoded forms of a list of change events, each computed on first use and then shared. */
export class EventTexts {
  private readonly plain: (string | undefined)[];
  private readonly withPrev: (string | undefined)[];
  private readonly lists = new Map<string, string>();

  constructor(readonly events: readonly ChangeEvent[]) {
    this.plain = new Array<string | undefined>(events.length);
    this.withPrev = new Array<string | undefined>(events.length);
  }

  /** The JSON text of events[i], with prev_kv when `prev` and the event has one. */
  text(i: number, prev: boolean): string {
    const ev = this.events[i] as ChangeEvent;
    // Without a previous value both forms are the same text.
    const withPrev = prev && ev.prevKv !== undefined;
    const cache = withPrev ? this.withPrev : this.plain;
    let t = cache[i];
    if (t === undefined) {
      t = encodeWatchEventText({ type: ev.type === 'put' ? EventType.PUT : EventType.DELETE, kv: ev.kv, prevKv: withPrev ? ev.prevKv : undefined });
      cache[i] = t;
    }
    return t;
  }

  /** The JSON list text of events[indices] (increasing indices), shared among watchers asking for the same list. */
  list(indices: readonly number[], prev: boolean): string {
    const key = (indices.length === this.events.length ? '*' : indices.join(',')) + (prev ? '+' : '-');
    let t = this.lists.get(key);
    if (t === undefined) {
      t = encodeWatchEventListText(indices.map((i) => this.text(i, prev)));
      this.lists.set(key, t);
    }
    return t;
  }
}

function response(header: ResponseHeader, watchId: number, o: Partial<WatchResponse>): WatchResponse {
  return { header, watchId, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [], ...o };
}

function control(kind: WatchMessageKind, res: WatchResponse): WatchMessage {
  return { kind, watchId: res.watchId, revision: res.header.revision, lastEventRevision: 0, eventCount: 0, fragment: false, text: encodeWatchResultText(res) };
}

export function createdMessage(header: ResponseHeader, watchId: number): WatchMessage {
  return control('created', response(header, watchId, { created: true }));
}

/** A create etcd refuses: watch_id -1, created and canceled, with the reason. */
export function refusedMessage(header: ResponseHeader, reason: string): WatchMessage {
  return control('created', response(header, INVALID_WATCH_ID, { created: true, canceled: true, cancelReason: reason }));
}

export function canceledMessage(header: ResponseHeader, watchId: number, reason?: string): WatchMessage {
  return control('canceled', response(header, watchId, reason === undefined ? { canceled: true } : { canceled: true, cancelReason: reason }));
}

/** The history this watcher needs was compacted: etcd sends a header without revision. */
export function compactedMessage(header: ResponseHeader, watchId: number, compactRevision: number): WatchMessage {
  return control('canceled', response({ ...header, revision: 0 }, watchId, { canceled: true, compactRevision }));
}

export function progressMessage(header: ResponseHeader, watchId: number): WatchMessage {
  return control('progress', response(header, watchId, {}));
}

/**
 * The response(s) carrying events[indices] to one watcher. One response, unless the watcher asked
 * for fragments and the text reaches `fragmentBytes`: then as many responses as needed, each
 * holding as many events as fit (at least one), all but the last with `fragment` set, as etcd's
 * sendFragments does (it measures the protobuf size; Keyward measures the JSON text).
 */
export function eventMessages(
  header: ResponseHeader,
  watchId: number,
  texts: EventTexts,
  indices: readonly number[],
  prev: boolean,
  fragmentBytes: number,
): WatchMessage[] {
  const events = texts.events;
  const one = (list: readonly number[], fragment: boolean, listText: string): WatchMessage => ({
    kind: 'events',
    watchId,
    revision: header.revision,
    lastEventRevision: (events[list[list.length - 1] as number] as ChangeEvent).kv.modRevision,
    eventCount: list.length,
    fragment,
    text: encodeWatchResultTextFrom({ ...response(header, watchId, { fragment }), events: listText }),
  });
  const whole = one(indices, false, texts.list(indices, prev));
  if (fragmentBytes <= 0 || indices.length < 2 || whole.text.length < fragmentBytes) return [whole];
  const overhead = whole.text.length - texts.list(indices, prev).length + '"fragment":true,'.length;
  const out: WatchMessage[] = [];
  let start = 0;
  while (start < indices.length) {
    let size = overhead + 2 + texts.text(indices[start] as number, prev).length;
    let end = start + 1;
    while (end < indices.length) {
      const next = size + 1 + texts.text(indices[end] as number, prev).length;
      if (next >= fragmentBytes) break;
      size = next;
      end++;
    }
    const part = indices.slice(start, end);
    out.push(one(part, end < indices.length, encodeWatchEventListText(part.map((i) => texts.text(i, prev)))));
    start = end;
  }
  return out;
}
