// What the three watch transports (POST body, WebSocket, server-sent events) share: turning the
// client's text into watch requests, and draining a WatchStream into a socket that may be slow.
import { DecodeError, decodeWatchRequest, parseJsonBody, type WatchRequest } from '../wire/index.js';
import type { WatchMessage, WatchStream } from '../server/index.js';
import { BodyTooLargeError } from './body.js';
import { JsonSplitError, JsonValueSplitter, JsonValueTooLargeError } from './json-values.js';

export interface RequestReaderHandlers {
  /** One decoded request, in order; `index` counts from 0. */
  request(req: WatchRequest, index: number): void;
  /**
   * The request at `index` could not be read (not JSON, wrong types, too large). The reader stops:
   * as etcd's gateway, everything after a bad request object is ignored.
   */
  failed(err: DecodeError | BodyTooLargeError, index: number): void;
}

/**
 * Reads the request objects of one stream from text that arrives in pieces (body chunks, or
 * WebSocket messages, which etcd's gateway joins with newlines into one body).
 */
export class WatchRequestReader {
  private readonly splitter: JsonValueSplitter;
  private count = 0;
  private stopped = false;

  constructor(
    maxObjectChars: number,
    private readonly handlers: RequestReaderHandlers,
  ) {
    this.splitter = new JsonValueSplitter(maxObjectChars);
  }

  /** True once a request failed or stop() was called: further text is ignored. */
  get isStopped(): boolean {
    return this.stopped;
  }

  push(text: string): void {
    if (this.stopped) return;
    for (const v of this.splitter.push(text)) {
      if (this.stopped) return;
      this.one(v);
    }
    if (!this.stopped && this.splitter.failure !== undefined) this.fail(this.splitter.failure);
  }

  /** The stream's text ended: a value left open is read as it is (an incomplete one fails). */
  end(): void {
    if (this.stopped) return;
    const rest = this.splitter.end();
    if (rest !== undefined) this.one(rest);
  }

  stop(): void {
    this.stopped = true;
  }

  private one(text: string): void {
    let req: WatchRequest;
    try {
      req = decodeWatchRequest(parseJsonBody(text));
    } catch (err) {
      this.fail(err);
      return;
    }
    this.handlers.request(req, this.count++);
  }

  private fail(err: unknown): void {
    this.stopped = true;
    this.handlers.failed(asReadError(err), this.count);
  }
}

/** The error a client sees for text that is not a request: etcd's message for the same input. */
function asReadError(err: unknown): DecodeError | BodyTooLargeError {
  if (err instanceof DecodeError) return err;
  if (err instanceof JsonValueTooLargeError) return new BodyTooLargeError(err.received);
  if (err instanceof JsonSplitError) {
    // What was read of the broken value, through the full parser: it names the bad character.
    try {
      parseJsonBody(err.text);
    } catch (e) {
      if (e instanceof DecodeError) return e;
    }
    return new DecodeError('SYNTAX', 'unexpected EOF');
  }
  throw err;
}

/** Where a stream's messages go. */
export interface WatchSink {
  /** Writes one message; false when the socket is full and the pump should wait for writable(). */
  write(m: WatchMessage): boolean;
  /** Resolves once the socket takes more data, or when it closed. */
  writable(): Promise<void>;
  /** True once the client went away. */
  readonly closed: boolean;
  /** Brackets a burst of writes (one syscall for many messages). */
  cork?(): void;
  uncork?(): void;
}

/**
 * Drains `stream` into `sink` until either ends. Messages wait in the stream's bounded buffer while
 * the socket is full, never in the socket's own (unbounded) one: that is what lets the hub notice
 * a slow consumer and fall back to catch-up instead of growing memory (GUARANTEES W11).
 * `afterBurst` runs whenever the buffer was just drained (the reading side may resume).
 */
export async function pumpWatch(stream: WatchStream, sink: WatchSink, afterBurst?: () => void): Promise<void> {
  for (;;) {
    const r = await stream.next();
    if (r.done || sink.closed) return;
    sink.cork?.();
    let ok = sink.write(r.value);
    for (let m = ok ? stream.poll() : undefined; m !== undefined; m = ok ? stream.poll() : undefined) ok = sink.write(m);
    sink.uncork?.();
    afterBurst?.();
    if (!ok) {
      await sink.writable();
      if (sink.closed) return;
    }
  }
}
