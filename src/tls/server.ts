// Per-listener hooks that the TLS options alone cannot express (GUARANTEES D9, A19).
//
// Node's `handshakeTimeout` does not close anything: when it fires, Node only emits
// 'tlsClientError' on the server (TLSSocket.prototype._handleTimeout -> _emitTLSError) and the
// half-open connection stays until the peer goes away, which is the slow-handshake DoS the
// timeout is meant to stop (GHSA-6vch-q96h-7gc3). Measured on Node 20.20: a TCP connection that
// never sends a ClientHello stayed open past 3 s with handshakeTimeout 150 ms. So every listener
// destroys the socket of a failed handshake itself, here.
//
// Renegotiation is already refused by SSL_OP_NO_RENEGOTIATION in the context (options.ts);
// disableRenegotiation() on each accepted socket makes Node refuse it as well, should a context
// ever be built without that flag.

import type { Server, TLSSocket } from 'node:tls';

export interface HandshakeFailure {
  /** Node's error code (ERR_TLS_HANDSHAKE_TIMEOUT, ERR_SSL_…), or the message when there is none. */
  readonly code: string;
  readonly message: string;
  /**
   * Why certificate verification failed, in OpenSSL's words (CERT_HAS_EXPIRED, INVALID_PURPOSE,
   * UNABLE_TO_GET_ISSUER_CERT_LOCALLY, CERT_REVOKED, …), when that is what failed. Node verifies
   * the client certificate after the handshake and then destroys the socket, so the error itself
   * only says "socket hang up"; the reason is on the socket.
   */
  readonly reason: string | undefined;
  readonly remoteAddress: string | undefined;
}

/**
 * Installs the hooks on `server` (tls.Server or https.Server): failed handshakes are destroyed
 * and reported to `onFailure` (for a log line: never contains key material), and accepted
 * sockets refuse renegotiation. Returns a function that removes the hooks.
 */
export function hardenServer(server: Server, onFailure?: (f: HandshakeFailure) => void): () => void {
  const onClientError = (err: Error & { code?: string }, socket: TLSSocket): void => {
    const remoteAddress = socket.remoteAddress;
    socket.destroy();
    // Node's types say Error, but the property holds OpenSSL's code string, or null when
    // verification was not what failed.
    const authError: unknown = socket.authorizationError;
    const reason = authError === undefined || authError === null ? undefined : String(authError);
    onFailure?.({ code: err.code ?? err.message, message: err.message, reason, remoteAddress });
  };
  const onSecure = (socket: TLSSocket): void => {
    socket.disableRenegotiation();
  };
  server.on('tlsClientError', onClientError);
  server.on('secureConnection', onSecure);
  return () => {
    server.off('tlsClientError', onClientError);
    server.off('secureConnection', onSecure);
  };
}
