// Who is asking, for every request (GUARANTEES A13, A14, A18): a token in `Authorization`, else the
// verified client certificate of the connection, else nobody. Nothing else a client sends names a
// principal: identity headers (X-User, X-Forwarded-Client-Cert, …) are never read.
//
// Precedence (A18, decided as etcd does: "password wins"): a token, when one is sent, names the
// principal even on a connection with a client certificate; a token that does not verify is a 401
// even if the certificate alone would have been fine, so a client never silently acts as someone
// other than the one it meant.
import type { IncomingMessage } from 'node:http';
import { AuthError, type KeywardServer, type Principal, type RequestAuth } from '../server/index.js';

/** The verified certificate identity of a request's connection (the listener's client policy). */
export type ClientIdentitySource = (req: IncomingMessage) => Principal | undefined;

/** Tokens longer than this are refused before any parsing (A14: oversized token). */
const MAX_TOKEN_CHARS = 4096;

/**
 * Every value of the credential headers, however the client repeated them: Node keeps only the
 * first `authorization` in `req.headers`, which would hide a second, conflicting one. One pass
 * over the raw headers, lower-casing only names of a matching length (this runs on every request).
 */
function credentialValues(req: IncomingMessage): string[] | undefined {
  let out: string[] | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if ((name.length === 13 && name.toLowerCase() === 'authorization') || (name.length === 19 && name.toLowerCase() === 'grpc-metadata-token')) {
      (out ??= []).push(raw[i + 1]!);
    }
  }
  return out;
}

/** The token the request carries, if any: raw (etcd) or `Bearer <token>` (any casing of Bearer). */
export function requestToken(req: IncomingMessage): string | undefined {
  const sent = credentialValues(req);
  if (sent === undefined) return undefined;
  // Two credentials in one request: refuse rather than pick one (A14).
  if (sent.length > 1) throw new AuthError('INVALID_AUTH_TOKEN');
  let token = sent[0]!.trim();
  const m = /^bearer\s+/i.exec(token);
  if (m !== null) token = token.slice(m[0].length).trim();
  if (token === '' || token.length > MAX_TOKEN_CHARS || /\s/.test(token)) throw new AuthError('INVALID_AUTH_TOKEN');
  return token;
}

/** A credential in the URL is refused, never used (it would end up in logs and histories). */
function tokenInQuery(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q < 0) return false;
  const params = new URLSearchParams(url.slice(q + 1));
  return ['token', 'access_token', 'auth', 'authorization'].some((k) => params.has(k));
}

// The RequestAuth of a connection's certificate principal, built once per connection: a keep-alive
// connection carries many requests and their principal cannot change (renegotiation is refused,
// src/tls/options.ts). Only the derived objects are reused: `certIdentity` still runs on every
// request, so revocation, expiry and a reloaded client CA apply to the next request, and what the
// principal may do is decided per request at the current auth revision (server/auth.ts).
interface CertAuth {
  readonly principal: Principal;
  readonly auth: RequestAuth;
}
const CERT_AUTH = Symbol('keyward.api.certAuth');
type WithCertAuth = IncomingMessage['socket'] & { [CERT_AUTH]?: CertAuth };

function certAuth(req: IncomingMessage, principal: Principal): RequestAuth {
  const socket = req.socket as WithCertAuth;
  const cached = socket[CERT_AUTH];
  if (cached !== undefined && cached.principal === principal) return cached.auth;
  const remote = socket.remoteAddress;
  const auth: RequestAuth = Object.freeze(remote !== undefined ? { remote, principal } : { principal });
  socket[CERT_AUTH] = { principal, auth };
  return auth;
}

export async function requestAuth(server: KeywardServer, req: IncomingMessage, certIdentity: ClientIdentitySource | undefined): Promise<RequestAuth> {
  if (tokenInQuery(req)) throw new AuthError('INVALID_AUTH_TOKEN');
  const token = requestToken(req);
  const remote = req.socket.remoteAddress;
  const base: RequestAuth = remote !== undefined ? { remote } : {};
  if (token !== undefined) return { ...base, principal: await server.principalFromToken(token) };
  const principal = certIdentity?.(req);
  return principal !== undefined ? certAuth(req, principal) : base;
}
