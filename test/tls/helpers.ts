// Loopback TLS servers and clients for the tls tests. A test server answers every connection
// that completes the handshake with one JSON line describing what identityFromSocket made of it,
// then closes; a client attempt reports whether that line arrived. "Refused" therefore means
// the server never got to run application code for the connection.

import { connect, createServer, type ConnectionOptions, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { hardenServer, identityFromSocket, isTlsError, normalizeSerial, type Identity, type IdentityPolicy } from '../../src/tls/index.js';

export type Verdict = { readonly ok: true; readonly identity: Identity } | { readonly ok: false; readonly code: string };

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** Handshake failures the server saw: OpenSSL's verification reason when there is one, else the error code. */
  readonly clientErrors: string[];
  close(): Promise<void>;
}

export function judge(socket: TLSSocket, policy: IdentityPolicy | undefined): Verdict | { readonly ok: true; readonly identity: null } {
  if (policy === undefined) return { ok: true, identity: null };
  try {
    return { ok: true, identity: identityFromSocket(socket, policy) };
  } catch (e) {
    if (isTlsError(e)) return { ok: false, code: e.code };
    throw e;
  }
}

/** A TLS server on 127.0.0.1 that writes judge()'s verdict to each connection. */
export async function listen(opts: TlsOptions, policy?: IdentityPolicy): Promise<TestServer> {
  const server = createServer(opts, (socket) => {
    socket.on('error', () => {});
    socket.end(`${JSON.stringify(judge(socket, policy))}\n`);
  });
  return start(server);
}

/**
 * Starts `server` on an ephemeral loopback port with the hooks every Keyward listener installs
 * (hardenServer), recording its handshake failures. `harden: false` shows Node's bare behaviour.
 */
export async function start(server: Server, opts: { harden?: boolean } = {}): Promise<TestServer> {
  const clientErrors: string[] = [];
  if (opts.harden ?? true) hardenServer(server, (f) => clientErrors.push(f.reason ?? f.code));
  else server.on('tlsClientError', (e: Error & { code?: string }) => clientErrors.push(e.code ?? e.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    clientErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive test clients must not hold close() open.
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

export interface Attempt {
  /** The server's verdict line, when the connection got that far. */
  readonly reply?: Verdict | { ok: true; identity: null };
  /** The client-side error code, if any. */
  readonly error?: string;
  /** Negotiated protocol, when the client finished its side of the handshake. */
  readonly protocol?: string | null;
  /** Serial of the certificate the server presented (normalized), when the client got that far. */
  readonly serverSerial?: string;
}

/** Waits until the server has recorded `n` handshake failures (the client may see the end first). */
export async function failures(s: TestServer, n = 1): Promise<string[]> {
  while (s.clientErrors.length < n) await new Promise((r) => s.server.once('tlsClientError', r));
  return s.clientErrors;
}

/** Connects with `opts`, reads until the server closes, and reports what happened. */
export function attempt(port: number, opts: ConnectionOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    let data = '';
    let error: string | undefined;
    let protocol: string | null | undefined;
    let serverSerial: string | undefined;
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts });
    socket.setTimeout(5000, () => socket.destroy(new Error('test client timeout')));
    socket.on('secureConnect', () => {
      protocol = socket.getProtocol();
      serverSerial = normalizeSerial(socket.getPeerCertificate().serialNumber);
    });
    socket.on('data', (d: Buffer) => {
      data += d.toString();
    });
    socket.on('error', (e: Error & { code?: string }) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', () => {
      const line = data.split('\n')[0];
      const out: { reply?: Attempt['reply']; error?: string; protocol?: string | null; serverSerial?: string } = {};
      if (line !== undefined && line !== '') out.reply = JSON.parse(line) as Attempt['reply'];
      if (error !== undefined) out.error = error;
      if (protocol !== undefined) out.protocol = protocol;
      if (serverSerial !== undefined) out.serverSerial = serverSerial;
      resolve(out);
    });
  });
}

/** The identity an attempt yielded, or a failure naming why there was none. */
export function identityOf(a: Attempt): Identity {
  if (a.reply === undefined) throw new Error(`connection refused (client error ${a.error ?? 'none'})`);
  if (!a.reply.ok) throw new Error(`identity refused: ${a.reply.code}`);
  if (a.reply.identity === null) throw new Error('server had no identity policy');
  return a.reply.identity;
}
