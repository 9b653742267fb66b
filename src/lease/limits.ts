// The lease TTL bounds, as etcd computes them.
export { MAX_LEASE_TTL } from '../wire/index.js';

/**
 * etcd's minimum lease TTL in seconds: ceil(1.5 election timeouts), computed as etcd does from
 * whole ticks — (3 * electionTicks / 2) ticks, integer division — so that a lease can outlive the
 * election that a leader failure causes. Default timing (1000 ms / 100 ms) gives 2.
 */
export function minLeaseTtl(electionMs: number, heartbeatMs: number): number {
  const electionTicks = Math.round(electionMs / heartbeatMs);
  return Math.ceil((Math.floor((3 * electionTicks) / 2) * heartbeatMs) / 1000);
}
