// Renewals and time-to-live questions belong to the leader: only its lessor knows when leases
// expire. A member that does not lead asks the leader over the peer port's call channel (as etcd
// forwards them over its peer listener), through the server's forwardLeaseRenew /
// forwardLeaseTimeToLive: the caller's principal travels with the request and the leader checks
// it itself. The leader's definite answer (the lease is gone, permission denied, …) is this
// request's answer; a time-to-live answer goes out under this member's response header.
//
// Until the request timeout it retries: while no leader is known, while the leader's lessor is not
// primary yet (a new leader before it applied its first entry), when the member it asked turned
// out not to lead any more, and when the leader could not be asked or gave no answer in time.
import { ForwardError, LeaseError, ServerError, type KeywardServer, type RequestAuth } from '../server/index.js';
import type { LeaseTimeToLiveRequest, LeaseTimeToLiveResponse } from '../wire/index.js';

const RETRY_MS = 50;

export class LeaseLeaderClient {
  constructor(private readonly server: KeywardServer) {}

  /** Renews at the leader; the granted TTL, or 0 when the lease does not exist (etcd's answer). */
  async renew(id: bigint, auth: RequestAuth): Promise<number> {
    try {
      return await this.toLeader(
        () => this.server.leaseRenew(id, auth),
        (ms) => this.server.forwardLeaseRenew(id, auth, ms),
      );
    } catch (err) {
      if (err instanceof LeaseError && err.code === 'LEASE_NOT_FOUND') return 0;
      throw err;
    }
  }

  /** The leader's time-to-live answer, under this member's header. */
  timeToLive(req: LeaseTimeToLiveRequest, auth: RequestAuth): Promise<LeaseTimeToLiveResponse> {
    return this.toLeader(
      async () => this.server.leaseTimeToLive(req, auth),
      async (ms) => ({ ...(await this.server.forwardLeaseTimeToLive(req, auth, ms)), header: this.server.responseHeader() }),
    );
  }

  private async toLeader<T>(local: () => Promise<T>, remote: (timeoutMs: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.server.requestTimeout;
    for (;;) {
      const leader = this.server.leaseLeader();
      // etcd answers "no leader" when none appeared in time, "request timed out" otherwise.
      const timeout = leader === null ? new ServerError('NO_LEADER', 'etcdserver: no leader') : new ServerError('TIMEOUT', 'etcdserver: request timed out');
      try {
        if (leader?.self === true) return await local();
        if (leader !== null) return await remote(Math.max(1, deadline - Date.now()));
      } catch (err) {
        const retry = err instanceof ForwardError || (err instanceof LeaseError && err.code === 'NOT_PRIMARY');
        if (!retry) throw err;
      }
      if (Date.now() + RETRY_MS >= deadline) throw timeout;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}
