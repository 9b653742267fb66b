import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface ListenOptions {
  /** Close connections whose headers have not arrived within this time (slowloris). */
  headersTimeoutMs?: number;
  /** Close requests whose body has not arrived within this time. */
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxConnections?: number;
}

export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly url: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A listening HTTP server with an idempotent close that drains in-flight requests. */
export class HttpListener {
  private closing: Promise<void> | undefined;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async listen(handler: RequestListener, url: string, opts: ListenOptions = {}): Promise<HttpListener> {
    const u = new URL(url);
    if (u.protocol !== 'http:') {
      throw new ListenError(url, 'UNSUPPORTED_SCHEME', `cannot listen on ${url}: only http:// is supported until TLS lands`);
    }
    const server = createServer({ keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5000 }, handler);
    server.headersTimeout = opts.headersTimeoutMs ?? 10_000;
    server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
    server.maxConnections = opts.maxConnections ?? 10_000;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port === '' ? 80 : Number(u.port);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
        reject(new ListenError(url, err.code ?? 'LISTEN_FAILED', `cannot listen on ${url}: ${why}`));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const bracketed = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return new HttpListener(server, `http://${bracketed}:${addr.port}`);
  }

  /** Stops accepting connections, lets in-flight requests finish, drops idle keep-alive sockets. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    return this.closing;
  }

  /** Severs every connection at once, for when draining is not an option. */
  destroy(): void {
    this.server.closeAllConnections();
  }
}
