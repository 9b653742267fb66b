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
 * Every value of a header, however the client repeated it: Node keeps only the first
 * `authorization` in `req.headers`, which would hide a second, conflicting one.
 */
function headerValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

/** The token the request carries, if any: raw (etcd) or `Bearer <token>` (any casing of Bearer). */
export function requestToken(req: IncomingMessage): string | undefined {
  const sent = [...headerValues(req, 'authorization'), ...headerValues(req, 'grpc-metadata-token')];
  if (sent.length === 0) return undefined;
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

export async function requestAuth(server: KeywardServer, req: IncomingMessage, certIdentity: ClientIdentitySource | undefined): Promise<RequestAuth> {
  const remote = req.socket.remoteAddress;
  const base: RequestAuth = remote !== undefined ? { remote } : {};
  if (tokenInQuery(req)) throw new AuthError('INVALID_AUTH_TOKEN');
  const token = requestToken(req);
  if (token !== undefined) return { ...base, principal: await server.principalFromToken(token) };
  const principal = certIdentity?.(req);
  return principal !== undefined ? { ...base, principal } : base;
}
