// Lease renewals and time-to-live questions a follower forwards to the leader, over the peer
// port's call channel (src/transport/call.ts). etcd does the same: its peer listener serves
// /leases and /leases/internal, and a follower's LeaseRenew / LeaseTimeToLive go there over the
// peer transport's TLS. Keyward used to ask the leader's CLIENT URL over the HTTP API instead,
// which cannot work once that port requires a client certificate the member does not hold.
//
// Who is asking. The request names the caller as the forwarding member established it (user,
// tenant, the revision of the token that named it). The leader trusts that because only a member
// can make a call (the channel authenticates the sender as a peer, by its peer certificate when
// the peer port is TLS), and a member is trusted with its clients' identities anyway: it admits
// their writes into the log with the same stamp. The leader then runs exactly the checks of a
// local call (leaseRenew: WRITE on every attached key; leaseTimeToLive with keys: READ on every
// one; a token revoked since it was issued: invalid auth token), on its own auth state.
//
// Answers. The leader's definite answer comes back as that answer: the same error class and
// code as if the call had been local (lease not found, permission denied, …). NOT_PRIMARY means
// the member asked does not lead (any more, or not yet); ForwardError means no answer came; the
// api retries both until its deadline (api/lease-forward.ts).
import { AuthError, type AuthErrorCode } from '../auth/index.js';
import { LeaseError, type LeaseErrorCode } from '../lease/index.js';
import type { NodeId } from '../raft/index.js';
import type { Transport } from '../transport/index.js';
import {
  decodeLeaseTimeToLiveRequest,
  decodeLeaseTimeToLiveResponse,
  encodeLeaseTimeToLiveRequest,
  encodeLeaseTimeToLiveResponseText,
  parseJsonBody,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
} from '../wire/index.js';
import type { Principal, RequestAuth } from './auth.js';
import { ServerError, type ServerErrorCode } from './errors.js';

export const RENEW_CALL = 'lease.renew';
export const TIME_TO_LIVE_CALL = 'lease.ttl';

/** The leader could not be asked, or gave no answer in time: worth another try (at this or the next leader). */
export class ForwardError extends Error {
  override readonly name = 'ForwardError';
}

/** What the handlers run on the member that is asked: the same methods a local caller uses. */
export interface LeaseLocal {
  leaseRenew(id: bigint, auth?: RequestAuth): Promise<number>;
  leaseTimeToLive(req: LeaseTimeToLiveRequest, auth?: RequestAuth): LeaseTimeToLiveResponse;
}

type ErrorFamily = 'lease' | 'auth' | 'server';
interface WireError {
  family: ErrorFamily | 'internal';
  code?: string;
  message?: string;
}

const LEASE_CODES = new Set<LeaseErrorCode>(['LEASE_NOT_FOUND', 'LEASE_EXISTS', 'LEASE_TTL_TOO_LARGE', 'NOT_PRIMARY']);
const SERVER_CODES = new Set<ServerErrorCode>(['STOPPED', 'REQUEST_TOO_LARGE', 'NO_SPACE', 'TIMEOUT', 'NO_LEADER']);

const utf8 = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Registers the two handlers on the member's transport. */
export function serveLeaseCalls(transport: Transport, local: LeaseLocal, logger?: { error(obj: object, msg: string): void }): void {
  const answer = async (from: NodeId, run: () => Promise<unknown>): Promise<Uint8Array> => {
    try {
      return utf8.encode(JSON.stringify({ ok: await run() }));
    } catch (err) {
      const e = toWire(err);
      if (e.family === 'internal') logger?.error({ err, from: from.toString(16) }, 'forwarded lease request failed');
      return utf8.encode(JSON.stringify({ error: e }));
    }
  };
  transport.handle(RENEW_CALL, (from, body) =>
    answer(from, async () => {
      const m = parseMessage(body);
      if (typeof m['id'] !== 'string' || !/^\d{1,20}$/.test(m['id'])) throw new TypeError('lease.renew: id must be a decimal string');
      return await local.leaseRenew(BigInt(m['id']), authOf(m));
    }),
  );
  transport.handle(TIME_TO_LIVE_CALL, (from, body) =>
    answer(from, async () => {
      const m = parseMessage(body);
      const res = local.leaseTimeToLive(decodeLeaseTimeToLiveRequest(m['request']), authOf(m));
      return JSON.parse(encodeLeaseTimeToLiveResponseText(res)) as unknown;
    }),
  );
}

/** Asks member `leader` to renew; its TTL, or its refusal thrown as the error it was there. */
export async function forwardRenew(transport: Transport, leader: NodeId, id: bigint, auth: RequestAuth | undefined, timeoutMs: number): Promise<number> {
  const ok = await send(transport, leader, RENEW_CALL, { id: id.toString(), ...authFields(auth) }, timeoutMs);
  if (typeof ok !== 'number' || !Number.isSafeInteger(ok)) throw new ForwardError('the leader answered a renewal without a TTL');
  return ok;
}

/** Asks member `leader` for a lease's time to live (the leader's response header: the caller replaces it). */
export async function forwardTimeToLive(transport: Transport, leader: NodeId, req: LeaseTimeToLiveRequest, auth: RequestAuth | undefined, timeoutMs: number): Promise<LeaseTimeToLiveResponse> {
  const ok = await send(transport, leader, TIME_TO_LIVE_CALL, { request: encodeLeaseTimeToLiveRequest(req), ...authFields(auth) }, timeoutMs);
  return decodeLeaseTimeToLiveResponse(ok);
}

async function send(transport: Transport, to: NodeId, kind: string, msg: object, timeoutMs: number): Promise<unknown> {
  let raw: Uint8Array;
  try {
    raw = await transport.call(to, kind, utf8.encode(JSON.stringify(msg)), { timeoutMs });
  } catch (err) {
    throw new ForwardError(`cannot ask the leader (${to.toString(16)}): ${err instanceof Error ? err.message : String(err)}`);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text(raw));
  } catch {
    throw new ForwardError('the leader answered something that is not JSON');
  }
  if (isObject(answer) && Object.hasOwn(answer, 'ok')) return answer['ok'];
  throw fromWire(isObject(answer) && isObject(answer['error']) ? (answer['error'] as Partial<WireError>) : { family: 'internal' });
}

function authFields(auth: RequestAuth | undefined): { principal?: Principal; remote?: string } {
  const out: { principal?: Principal; remote?: string } = {};
  const p = auth?.principal;
  if (p !== undefined) {
    out.principal = { user: p.user };
    if (p.tenant !== undefined) out.principal.tenant = p.tenant;
    if (p.tokenRevision !== undefined) out.principal.tokenRevision = p.tokenRevision;
  }
  if (auth?.remote !== undefined) out.remote = auth.remote;
  return out;
}

/** The caller as the forwarding member named it; anything malformed is refused, never guessed. */
function authOf(m: Record<string, unknown>): RequestAuth {
  const auth: RequestAuth = {};
  if (typeof m['remote'] === 'string') auth.remote = m['remote'];
  const p = m['principal'];
  if (p === undefined) return auth;
  if (!isObject(p) || typeof p['user'] !== 'string') throw new TypeError('principal.user must be a string');
  const principal: Principal = { user: p['user'] };
  if (p['tenant'] !== undefined) {
    if (typeof p['tenant'] !== 'string') throw new TypeError('principal.tenant must be a string');
    principal.tenant = p['tenant'];
  }
  if (p['tokenRevision'] !== undefined) {
    if (typeof p['tokenRevision'] !== 'number' || !Number.isSafeInteger(p['tokenRevision']) || p['tokenRevision'] < 0) throw new TypeError('principal.tokenRevision must be a non-negative integer');
    principal.tokenRevision = p['tokenRevision'];
  }
  auth.principal = principal;
  return auth;
}

function parseMessage(body: Uint8Array): Record<string, unknown> {
  const m = parseJsonBody(text(body));
  if (!isObject(m)) throw new TypeError('a forwarded lease request must be a JSON object');
  return m;
}

function toWire(err: unknown): WireError {
  if (err instanceof LeaseError) return { family: 'lease', code: err.code };
  if (err instanceof AuthError) return { family: 'auth', code: err.code };
  if (err instanceof ServerError) return { family: 'server', code: err.code, message: err.message };
  return { family: 'internal' };
}

function fromWire(e: Partial<WireError>): Error {
  const code = e.code ?? '';
  if (e.family === 'lease' && LEASE_CODES.has(code as LeaseErrorCode)) return new LeaseError(code as LeaseErrorCode);
  if (e.family === 'auth' && isAuthCode(code)) return new AuthError(code);
  if (e.family === 'server' && SERVER_CODES.has(code as ServerErrorCode)) {
    // The leader stopping is no answer about the lease: ask again (the next leader).
    if (code === 'STOPPED') return new ForwardError('the leader is stopping');
    return new ServerError(code as ServerErrorCode, typeof e.message === 'string' ? e.message : code);
  }
  return new Error('the leader failed to answer a forwarded lease request');
}

/** An AuthError code this build knows (it has a message for it); a newer member's other code is an internal error, not a guess. */
function isAuthCode(code: string): code is AuthErrorCode {
  // Error(undefined) has the message '': an unknown code has no entry in AuthError's table.
  return /^[A-Z_]{1,64}$/.test(code) && new AuthError(code as AuthErrorCode).message !== '';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
