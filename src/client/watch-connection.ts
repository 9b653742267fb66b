import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import {
  decodeErrorBody,
  decodeWatchResult,
  encodeWatchRequest,
  GrpcCode,
  type WatchCreateRequest,
  type WatchResponse,
} from '../wire/index.js';
import { bearer } from './credentials.js';
import { KeywardError } from './http.js';
import { describeConnectionError } from './tls.js';

// One attempt at one watch: a single `POST /v3/watch` stream to one member carrying one
// create_request, read line by line (`{"result":…}` per line, API.md section 6). It knows nothing
// about resuming; watch.ts decides what to do when an attempt ends.
//
// Full duplex (Keyward): the request body stays open, so progress requests can follow the create;
// Keyward answers as soon as the first request object arrives. Half duplex (etcd 3.4's gateway
// over HTTP/1.1 sends nothing until the request body is complete): the body ends after the create,
// and no progress request can be sent on that stream.
//
// Liveness: a member killed with SIGKILL closes the socket, but a paused (SIGSTOP) or wedged one
// keeps it open and silent. So the attempt fails when no response arrives within `timeoutMs` of
// opening, and, once created, after `keepAliveMs` of silence it sends a progress request (always
// answered at once by a healthy member) and fails if nothing arrives within `timeoutMs`. The
// silence clock stops while the consumer holds the stream paused: then the silence is ours.

export interface ConnectionOptions {
  endpoint: string;
  create: WatchCreateRequest;
  fullDuplex: boolean;
  timeoutMs: number;
  keepAliveMs: number;
  /** TLS options for an https endpoint (CA, client certificate, hardening). */
  tls: TlsConnectionOptions;
  /** The token for this attempt, asked for once per attempt (see credentials.ts). */
  token: () => Promise<string | undefined>;
}

/** Why an attempt ended. `permanent` failures are not retried (the same request would fail again). */
export interface ConnectionFailure {
  permanent: boolean;
  message: string;
  /** gRPC code when the member answered with etcd's error envelope; 14 for transport failures. */
  grpcCode: number;
  httpStatus: number;
}

export interface ConnectionSink {
  /** One decoded response line, in stream order. */
  response(res: WatchResponse): void;
  /** The attempt ended on its own (never after close()); called once. */
  ended(failure: ConnectionFailure): void;
}

/** etcd errors that a retry on any member would meet again. */
const PERMANENT_CODES: ReadonlySet<number> = new Set([
  GrpcCode.INVALID_ARGUMENT,
  GrpcCode.NOT_FOUND,
  GrpcCode.PERMISSION_DENIED,
  GrpcCode.FAILED_PRECONDITION,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNIMPLEMENTED,
  GrpcCode.UNAUTHENTICATED,
]);

const MAX_ERROR_BODY = 64 * 1024;
const PROGRESS_LINE = JSON.stringify(encodeWatchRequest({ type: 'progress' })) + '\n';

export class WatchConnection {
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private buffer = '';
  private done = false;
  private paused = false;
  private created = false;
  private timer: NodeJS.Timeout | undefined;
  /** A keep-alive progress request is waiting for any answer. */
  private probing = false;
  private closedPromise: Promise<void> | undefined;
  /** The token this attempt was sent with, so a refusal of it can be refreshed once. */
  token: string | undefined;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly sink: ConnectionSink,
  ) {}

  open(): void {
    this.arm(this.opts.timeoutMs, () => this.timeout(`no watch response from ${this.opts.endpoint} within ${this.opts.timeoutMs} ms`));
    this.opts.token().then(
      (token) => {
        if (this.done) return;
        this.token = token;
        this.send(token);
      },
      (err: unknown) => this.fail(failureFromError(err)),
    );
  }

  private send(token: string | undefined): void {
    const url = new URL(this.opts.endpoint.replace(/\/+$/, '') + '/v3/watch');
    const https = url.protocol === 'https:';
    const headers = { 'content-type': 'application/json', ...bearer(token) };
    // agent: false gives the stream its own socket: it lives as long as the watch and must never
    // be handed to another request by a keep-alive pool.
    const req = https ? httpsRequest(url, { ...this.opts.tls, method: 'POST', agent: false, headers }) : httpRequest(url, { method: 'POST', agent: false, headers });
    this.req = req;
    this.closedPromise = new Promise((r) => req.once('close', () => r()));
    req.setNoDelay(true);
    req.on('response', (res) => this.onHead(res));
    req.on('error', (err) => this.fail({ permanent: false, message: describe(err), grpcCode: GrpcCode.UNAVAILABLE, httpStatus: 0 }));
    const line = JSON.stringify(encodeWatchRequest({ type: 'create', create: this.opts.create })) + '\n';
    if (this.opts.fullDuplex) req.write(line);
    else req.end(line);
  }

  /** Asks the member for a progress notification (full duplex only). */
  requestProgress(): void {
    if (this.done || !this.opts.fullDuplex) return;
    this.req?.write(PROGRESS_LINE);
  }

  /** Stops reading: TCP flow control then holds the member back (its own buffer bound applies). */
  pause(): void {
    if (this.paused || this.done) return;
    this.paused = true;
    this.res?.pause();
    if (this.created) this.disarm();
  }

  resume(): void {
    if (!this.paused || this.done) return;
    this.paused = false;
    this.res?.resume();
    if (this.created) this.armIdle();
  }

  /** Ends the attempt without reporting it; resolves once the socket is closed. Idempotent. */
  close(): Promise<void> {
    this.done = true;
    this.disarm();
    this.req?.destroy();
    return this.closedPromise ?? Promise.resolve();
  }

  private onHead(res: IncomingMessage): void {
    this.res = res;
    res.setEncoding('utf8');
    res.on('error', (err) => this.fail({ permanent: false, message: describe(err), grpcCode: GrpcCode.UNAVAILABLE, httpStatus: res.statusCode ?? 0 }));
    if (res.statusCode !== 200) {
      let body = '';
      res.on('data', (chunk: string) => {
        if (body.length < MAX_ERROR_BODY) body += chunk;
      });
      res.on('end', () => this.fail(failureFromBody(res.statusCode ?? 0, body, this.opts.endpoint)));
      return;
    }
    res.on('data', (chunk: string) => this.onData(chunk));
    res.on('end', () => this.fail({ permanent: false, message: `${this.opts.endpoint} ended the watch stream`, grpcCode: GrpcCode.UNAVAILABLE, httpStatus: 200 }));
    if (this.paused) res.pause();
  }

  private onData(chunk: string): void {
    if (this.done) return;
    this.probing = false;
    if (this.created && !this.paused) this.armIdle();
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\n');
    while (nl >= 0 && !this.done) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line !== '') this.onLine(line);
      nl = this.buffer.indexOf('\n');
    }
  }

  private onLine(line: string): void {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.fail({ permanent: false, message: `${this.opts.endpoint} sent a watch line that is not JSON: ${line.slice(0, 200)}`, grpcCode: GrpcCode.UNKNOWN, httpStatus: 200 });
      return;
    }
    // etcd's gateway reports a stream error as its error envelope on a line of its own.
    if (typeof json === 'object' && json !== null && !Object.hasOwn(json, 'result')) {
      this.fail(failureFromBody(200, line, this.opts.endpoint));
      return;
    }
    let res: WatchResponse;
    try {
      res = decodeWatchResult(json);
    } catch (e) {
      this.fail({ permanent: false, message: `${this.opts.endpoint} sent an undecodable watch response: ${describe(e)}`, grpcCode: GrpcCode.UNKNOWN, httpStatus: 200 });
      return;
    }
    if (res.created && !this.created) {
      this.created = true;
      if (!this.paused) this.armIdle();
      else this.disarm();
    }
    this.sink.response(res);
  }

  private armIdle(): void {
    if (this.opts.keepAliveMs <= 0 || !this.opts.fullDuplex) {
      this.disarm();
      return;
    }
    this.arm(this.opts.keepAliveMs, () => {
      this.probing = true;
      this.requestProgress();
      this.arm(this.opts.timeoutMs, () => {
        if (this.probing) this.timeout(`${this.opts.endpoint} did not answer a progress request within ${this.opts.timeoutMs} ms`);
      });
    });
  }

  private arm(ms: number, fn: () => void): void {
    this.disarm();
    this.timer = setTimeout(fn, ms);
    this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private timeout(message: string): void {
    this.fail({ permanent: false, message, grpcCode: GrpcCode.UNAVAILABLE, httpStatus: 0 });
  }

  private fail(f: ConnectionFailure): void {
    if (this.done) return;
    this.done = true;
    this.disarm();
    this.req?.destroy();
    this.sink.ended(f);
  }
}

function failureFromBody(status: number, body: string, endpoint: string): ConnectionFailure {
  let parsed: { message: string; code: number } | undefined;
  try {
    parsed = decodeErrorBody(JSON.parse(body));
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined) return { permanent: PERMANENT_CODES.has(parsed.code), message: parsed.message, grpcCode: parsed.code, httpStatus: status };
  // Not etcd's envelope: a client error (404 on a server without watch, 405) will not go away by
  // retrying; anything else (5xx, a proxy's page) may.
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return { permanent, message: `HTTP ${status} from ${endpoint}/v3/watch: ${body.slice(0, 200)}`, grpcCode: GrpcCode.UNKNOWN, httpStatus: status };
}

function describe(err: unknown): string {
  return describeConnectionError(err);
}

/** A failed login or token function: a refusal from the cluster is final, a transport failure is not. */
function failureFromError(err: unknown): ConnectionFailure {
  if (err instanceof KeywardError) return { permanent: err.code !== 'UNAVAILABLE', message: err.message, grpcCode: err.grpcCode, httpStatus: err.httpStatus };
  return { permanent: true, message: `the token for the watch could not be had: ${describe(err)}`, grpcCode: GrpcCode.UNAUTHENTICATED, httpStatus: 0 };
}
