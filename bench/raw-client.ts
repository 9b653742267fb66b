// A minimal HTTP/1.1 keep-alive client over one net.Socket, for the load generator.
// One request in flight per connection (no pipelining): the caller writes a prebuilt
// request buffer and gets back (status, body) when the whole response has arrived.
// It understands Content-Length and chunked bodies (etcd's gateway sends errors chunked,
// shared/API.md §1) and nothing fancier: no 1xx, no bodies delimited by close.
// Over TLS (https:// targets) the same bytes go through a tls.TLSSocket.

import * as net from 'node:net';
import * as tls from 'node:tls';

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;

export interface ParsedResponse {
  status: number;
  body: Buffer;
  /** Bytes of `data` this response used. */
  consumed: number;
  /** The server announced `Connection: close`. */
  close: boolean;
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/**
 * Parses one complete response at the start of `data`, or returns null when more bytes are
 * needed. Throws ProtocolError on malformed input.
 */
export function parseResponse(data: Buffer): ParsedResponse | null {
  const headEnd = data.indexOf(HEAD_END);
  if (headEnd < 0) {
    if (data.length > MAX_HEAD) throw new ProtocolError('response head too large');
    return null;
  }
  // "HTTP/1.1 200 OK"
  if (headEnd < 12 || data[8] !== 0x20) throw new ProtocolError('malformed status line');
  const status = (data[9]! - 48) * 100 + (data[10]! - 48) * 10 + (data[11]! - 48);
  if (!(status >= 100 && status <= 599)) throw new ProtocolError('malformed status code');
  const head = data.toString('latin1', 0, headEnd + 2).toLowerCase();
  const close = head.includes('\r\nconnection: close\r\n');
  const bodyStart = headEnd + 4;

  const cl = head.indexOf('\r\ncontent-length:');
  if (cl >= 0) {
    const lineEnd = head.indexOf('\r\n', cl + 2);
    const len = Number.parseInt(head.slice(cl + 17, lineEnd).trim(), 10);
    if (!Number.isFinite(len) || len < 0) throw new ProtocolError('bad content-length');
    if (data.length < bodyStart + len) return null;
    return { status, body: data.subarray(bodyStart, bodyStart + len), consumed: bodyStart + len, close };
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    return parseChunked(data, bodyStart, status, close);
  }
  if (status === 204 || status === 304 || status < 200) {
    return { status, body: data.subarray(bodyStart, bodyStart), consumed: bodyStart, close };
  }
  throw new ProtocolError('response without content-length or chunked encoding');
}

function parseChunked(data: Buffer, start: number, status: number, close: boolean): ParsedResponse | null {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = data.indexOf(CRLF, pos);
    if (lineEnd < 0) return null;
    const sizeText = data.toString('latin1', pos, lineEnd).split(';')[0]!.trim();
    const size = Number.parseInt(sizeText, 16);
    if (!Number.isFinite(size) || size < 0 || !/^[0-9a-f]+$/i.test(sizeText)) {
      throw new ProtocolError(`bad chunk size ${JSON.stringify(sizeText)}`);
    }
    pos = lineEnd + 2;
    if (size === 0) {
      // Optional trailers, then an empty line.
      if (data.length < pos + 2) return null;
      if (data[pos] === 0x0d && data[pos + 1] === 0x0a) {
        return { status, body: Buffer.concat(parts), consumed: pos + 2, close };
      }
      const end = data.indexOf(HEAD_END, pos - 2);
      if (end < 0) return null;
      return { status, body: Buffer.concat(parts), consumed: end + 4, close };
    }
    if (data.length < pos + size + 2) return null;
    parts.push(data.subarray(pos, pos + size));
    pos += size + 2;
  }
}

export type ResponseHandler = (err: Error | null, status: number, body: Buffer) => void;

/**
 * One keep-alive connection. `request()` may be called only when no request is in flight.
 * On any transport or protocol error the in-flight request fails and the connection is
 * unusable (`broken`); the owner makes a new one.
 */
export class RawConnection {
  /** A tls.TLSSocket for https:// targets (it is a net.Socket too). */
  readonly socket: net.Socket;
  private pending: Buffer | null = null;
  private handler: ResponseHandler | null = null;
  private connected = false;
  private queued: Buffer | null = null;
  broken = false;

  /**
   * `tlsOptions` (https:// targets): client certificate, CA and, for a resumed handshake, the
   * `session` of an earlier connection to the same server. The request is written once the
   * handshake is done (writes before it would be buffered anyway).
   */
  constructor(host: string, port: number, tlsOptions?: tls.ConnectionOptions) {
    this.socket = tlsOptions === undefined ? net.connect({ host, port, noDelay: true }) : tls.connect({ ...tlsOptions, host, port });
    if (tlsOptions !== undefined) this.socket.setNoDelay(true);
    this.socket.on(tlsOptions === undefined ? 'connect' : 'secureConnect', () => {
      this.connected = true;
      if (this.queued !== null) {
        const q = this.queued;
        this.queued = null;
        this.socket.write(q);
      }
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err: Error) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed by server')));
  }

  request(req: Buffer, handler: ResponseHandler): void {
    if (this.handler !== null) throw new TypeError('request already in flight');
    if (this.broken) {
      handler(new Error('connection is broken'), 0, Buffer.alloc(0));
      return;
    }
    this.handler = handler;
    if (this.connected) this.socket.write(req);
    else this.queued = req;
  }

  close(): void {
    this.broken = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let res: ParsedResponse | null;
    try {
      res = parseResponse(data);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (res === null) {
      this.pending = data;
      return;
    }
    const h = this.handler;
    if (h === null || res.consumed !== data.length) {
      this.fail(new ProtocolError('unsolicited bytes from server'));
      return;
    }
    this.handler = null;
    if (res.close) {
      this.broken = true;
      this.socket.destroy();
    }
    h(null, res.status, res.body);
  }

  private fail(err: Error): void {
    if (!this.broken) {
      this.broken = true;
      this.socket.destroy();
    }
    const h = this.handler;
    this.handler = null;
    if (h !== null) h(err, 0, Buffer.alloc(0));
  }
}
