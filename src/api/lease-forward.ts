// Renewals and time-to-live questions belong to the leader: only its lessor knows when leases
// expire (etcd forwards them over its peer HTTP listener, leasehttp). Keyward's peer port speaks
// the Raft transport only, so a member that does not lead asks the leader's advertised client URL
// (from the replicated members table) over the same HTTP API, marks the request as forwarded so
// it is never forwarded again, and relays the answer under its own response header.
//
// Until the request timeout it retries: while no leader is known, while the leader's lessor is not
// primary yet (a new leader before it applied its first entry), and when the leader it asked
// turned out not to lead any more.
import { AuthError, LeaseError, ServerError, type KeywardServer, type RequestAuth } from '../server/index.js';
import {
  decodeLeaseKeepAliveLine,
  decodeLeaseTimeToLiveResponse,
  encodeLeaseKeepAliveRequest,
  encodeLeaseTimeToLiveRequest,
  LeasePath,
  parseJsonBody,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
} from '../wire/index.js';

/** Request header that marks a lease request one member forwarded to the leader. */
export const FORWARDED_HEADER = 'keyward-lease-forwarded';

/** The leader could not be asked or did not answer usefully; worth another try. */
class ForwardFailed extends Error {
  override readonly name = 'ForwardFailed';
}

const RETRY_MS = 50;

export class LeaseLeaderClient {
  constructor(private readonly server: KeywardServer) {}

  /** Renews at the leader; the granted TTL, or 0 when the lease does not exist (etcd's answer). */
  renew(id: bigint, forwarded: boolean, auth: RequestAuth): Promise<number> {
    return this.toLeader(
      forwarded,
      auth,
      async () => {
        try {
          return await this.server.leaseRenew(id, auth);
        } catch (err) {
          if (err instanceof LeaseError && err.code === 'LEASE_NOT_FOUND') return 0;
          throw err;
        }
      },
      async (url, signal, token) => {
        const text = await post(url + LeasePath.KEEP_ALIVE, JSON.stringify(encodeLeaseKeepAliveRequest({ id })), signal, token);
        const line = text.split('\n').find((l) => l.trim() !== '');
        if (line === undefined) throw new ForwardFailed('the leader answered no keep-alive result');
        const parsed = decodeLeaseKeepAliveLine(parseJsonBody(line));
        if (parsed.type === 'error') throw new ForwardFailed(parsed.error.message);
        return parsed.result.ttl;
      },
    );
  }

  /** The leader's time-to-live answer, under this member's header. */
  timeToLive(req: LeaseTimeToLiveRequest, forwarded: boolean, auth: RequestAuth): Promise<LeaseTimeToLiveResponse> {
    return this.toLeader(
      forwarded,
      auth,
      async () => this.server.leaseTimeToLive(req, auth),
      async (url, signal, token) => {
        const text = await post(url + LeasePath.TIME_TO_LIVE, JSON.stringify(encodeLeaseTimeToLiveRequest(req)), signal, token);
        const res = decodeLeaseTimeToLiveResponse(parseJsonBody(text));
        return { ...res, header: this.server.responseHeader() };
      },
    );
  }

  private async toLeader<T>(
    forwarded: boolean,
    auth: RequestAuth,
    local: () => Promise<T>,
    remote: (url: string, signal: AbortSignal, token: string | undefined) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + this.server.requestTimeout;
    for (;;) {
      const leader = this.server.leaseLeader();
      // etcd answers "no leader" when none appeared in time, "request timed out" otherwise.
      const timeout = leader === null ? new ServerError('NO_LEADER', 'etcdserver: no leader') : new ServerError('TIMEOUT', 'etcdserver: request timed out');
      try {
        if (leader?.self === true) return await local();
        // A forwarded request is answered here or refused: forwarding it again could bounce it
        // between members that disagree about the leader.
        if (forwarded) throw new LeaseError('NOT_PRIMARY');
        const url = leader?.clientUrls[0];
        // The leader checks the caller again: it is asked with a short-lived token naming the
        // caller (the signing key is the cluster's), never with a header it would have to trust.
        if (url !== undefined) return await remote(url, AbortSignal.timeout(Math.max(1, deadline - Date.now())), await this.server.forwardingToken(auth));
      } catch (err) {
        const retry = err instanceof ForwardFailed || (err instanceof LeaseError && err.code === 'NOT_PRIMARY');
        if (!retry || (forwarded && leader?.self !== true)) throw err;
      }
      if (Date.now() + RETRY_MS >= deadline) throw timeout;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

async function post(url: string, body: string, signal: AbortSignal, token: string | undefined): Promise<string> {
  let res: Response;
  const headers: Record<string, string> = { 'content-type': 'application/json', [FORWARDED_HEADER]: '1' };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal });
  } catch (err) {
    throw new ForwardFailed(`cannot reach the leader at ${url}: ${(err as Error).message}`);
  }
  const text = await res.text().catch(() => '');
  // The leader's refusal of the caller is the answer, not a reason to try again.
  if (res.status === 401) throw new AuthError('INVALID_AUTH_TOKEN');
  if (res.status === 403) throw new AuthError('PERMISSION_DENIED');
  if (res.status !== 200) throw new ForwardFailed(`the leader at ${url} answered ${res.status}: ${text.slice(0, 200)}`);
  return text;
}
