// GET /v3/watch with Accept: text/event-stream: one watch as server-sent events, for browsers'
// EventSource and for `curl -N`. The query is the create request:
//
//   key, range_end            base64, as in the JSON API (key is required)
//   start_revision            decimal; 0 or absent = from the next revision
//   prev_kv, progress_notify  true | false
//   filters                   NOPUT, NODELETE (names or numbers; comma-separated or repeated)
//
// Each watch response is one event whose data is the same `{"result":…}` text the other
// transports send: `event: watch` for created and event responses, `event: progress` for progress
// notifications, `event: canceled` when the server ends the watch (its history was compacted: the
// data carries compact_revision; nothing follows, and the client should not reconnect).
//
// Resuming: a response carrying events has `id:` = its highest event revision, and a progress
// notification has `id:` = its header revision (every event up to it was sent before it). A
// reconnect with `Last-Event-ID: R` (EventSource sends it by itself) watches from R+1, which
// overrides start_revision, so nothing is lost or repeated. Bad parameters are a 400 with etcd's
// error body, before any event.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeywardServer, RequestAuth, WatchMessage } from '../server/index.js';
import { DecodeError, decodeWatchRequest, type JsonObject, type JsonValue, type WatchCreateRequest } from '../wire/index.js';
import { refusedWatchFailure, toWireFailure } from './errors.js';
import { holdOpen } from './http-server.js';
import { authorizedStream, refuseWatch, waitDrain, type WatchTransportOptions } from './watch-http.js';
import { openSessionStream, pumpWatch, type SessionStream, type WatchSink } from './watch-session.js';

/** True when a GET asks for server-sent events. */
export function wantsEventStream(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').toLowerCase().includes('text/event-stream');
}

const BOOLEANS = new Set(['prev_kv', 'progress_notify']);
const SCALARS = new Set(['key', 'range_end', 'start_revision', ...BOOLEANS]);

/** The create request a query describes; throws DecodeError with etcd's texts where etcd has one. */
export function createRequestFromQuery(search: URLSearchParams, lastEventId: string | undefined): WatchCreateRequest {
  const obj: JsonObject = {};
  const filters: JsonValue[] = [];
  for (const name of new Set(search.keys())) {
    const values = search.getAll(name);
    if (name === 'filters') {
      for (const v of values.flatMap((x) => x.split(','))) filters.push(/^[0-9]+$/.test(v) ? Number(v) : v);
      continue;
    }
    if (!SCALARS.has(name)) throw new DecodeError('SHAPE', `keyward: unknown watch parameter ${JSON.stringify(name)}`);
    if (values.length > 1) throw new DecodeError('SHAPE', `keyward: watch parameter ${JSON.stringify(name)} is given more than once`);
    const v = values[0] as string;
    if (BOOLEANS.has(name)) {
      if (v !== 'true' && v !== 'false') throw new DecodeError('TYPE', `keyward: watch parameter ${JSON.stringify(name)} must be true or false`);
      obj[name] = v === 'true';
    } else {
      // An unencoded `+` of base64 arrives as a space; base64 never holds one, so take it back.
      obj[name] = name === 'start_revision' ? v : v.replace(/ /g, '+');
    }
  }
  if (filters.length > 0) obj['filters'] = filters;
  if (lastEventId !== undefined) {
    const id = lastEventId.trim();
    if (!/^[0-9]{1,16}$/.test(id) || !Number.isSafeInteger(Number(id) + 1)) {
      throw new DecodeError('RANGE', `keyward: Last-Event-ID ${JSON.stringify(lastEventId)} is not a revision`);
    }
    obj['start_revision'] = String(Number(id) + 1);
  }
  const req = decodeWatchRequest({ create_request: obj });
  if (req.type !== 'create') throw new TypeError('a create request decoded as another kind');
  // etcd's text for a missing key; an SSE stream has exactly one watch, so it must name something.
  if (req.create.key.length === 0) throw new DecodeError('SHAPE', 'etcdserver: key is not provided');
  return req.create;
}

export function serveWatchSse(server: KeywardServer, req: IncomingMessage, res: ServerResponse, o: WatchTransportOptions): void {
  authorizedStream(server, req, o).then(
    (auth) => serveWatchSseAs(server, req, res, o, auth),
    (err: unknown) => refuseWatch(res, toWireFailure(err, o.maxMessageBytes)),
  );
}

function serveWatchSseAs(server: KeywardServer, req: IncomingMessage, res: ServerResponse, o: WatchTransportOptions, auth: RequestAuth): void {
  let create: WatchCreateRequest;
  let stream: SessionStream;
  try {
    const url = new URL(req.url ?? '/', 'http://keyward.invalid');
    const last = req.headers['last-event-id'];
    create = createRequestFromQuery(url.searchParams, Array.isArray(last) ? last[0] : last);
    stream = openSessionStream(server, auth, o.tenants, o.logger);
  } catch (err) {
    const failure = toWireFailure(err, o.maxMessageBytes);
    if (failure.internal) o.logger.error({ err, path: req.url }, 'watch request failed');
    const body = JSON.stringify(failure.body);
    res.writeHead(failure.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
    return;
  }
  if (stream.create(create) < 0) {
    // Refused at once: an HTTP error with the reason, not a stream (400 for a bad range or
    // revision; a permission or tenant-limit refusal keeps its own status).
    const refusal = stream.poll();
    stream.close();
    const reason = refusal === undefined ? 'mvcc: watcher range is empty' : (JSON.parse(refusal.text) as { result: { cancel_reason: string } }).result.cancel_reason;
    const failure = refusedWatchFailure(reason);
    const body = JSON.stringify(failure.body);
    res.writeHead(failure.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
    return;
  }

  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    release();
    stream.close();
    if (!res.writableEnded) res.end();
  };
  const release = holdOpen(req, end);
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    // Proxies that buffer responses (nginx) would hold events back.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  const sink: WatchSink = {
    write: (m) => res.write(sseEvent(m)),
    writable: () => waitDrain(res),
    get closed() {
      return res.destroyed || res.writableEnded;
    },
    cork: () => res.cork(),
    uncork: () => res.uncork(),
  };
  void pumpWatch(stream, sink).then(end, (err: unknown) => {
    o.logger.error({ err }, 'watch stream failed');
    end();
  });
  res.on('close', end);
}

/** One watch response as an SSE event (the data is one line: JSON text has no raw newlines). */
export function sseEvent(m: WatchMessage): string {
  switch (m.kind) {
    case 'events':
      // A fragment is not a resume point: the rest of its revision follows in the next ones.
      return m.fragment ? `event: watch\ndata: ${m.text}\n\n` : `event: watch\nid: ${m.lastEventRevision}\ndata: ${m.text}\n\n`;
    case 'progress':
      return `event: progress\nid: ${m.revision}\ndata: ${m.text}\n\n`;
    case 'canceled':
      return `event: canceled\ndata: ${m.text}\n\n`;
    case 'created':
      return `event: watch\ndata: ${m.text}\n\n`;
  }
}
