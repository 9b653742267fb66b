import { KeywardError, type LeaseClient, type LeaseKeepAlive } from '../client/index.js';
import {
  bytesToString,
  encodeLeaseGrantResponse,
  encodeLeaseKeepAliveResponse,
  encodeLeaseLeasesResponse,
  encodeLeaseRevokeResponse,
  encodeLeaseTimeToLiveResponse,
} from '../wire/index.js';
import { UsageError, type Output } from './kv-commands.js';

// etcdctl-like lease commands: lease grant | revoke | keep-alive | timetolive | list. Simple
// output follows etcdctl 3.4 line for line; `-w json` prints each response as the HTTP/JSON API
// returns it (IDs as decimal strings). Lease IDs are taken and printed in hexadecimal, as etcdctl
// does; a negative ID is written as its 64-bit two's complement (etcdctl cannot take those).

/** A lease ID as etcdctl takes it: hexadecimal without 0x, at most 16 digits (64 bits). */
export function parseLeaseId(text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new UsageError(`bad lease ID arg (${JSON.stringify(text)}), expecting ID in Hex`);
  return BigInt.asIntN(64, BigInt('0x' + text));
}

export function parseTtl(text: string): bigint {
  if (!/^-?[0-9]+$/.test(text)) throw new UsageError(`bad TTL (${JSON.stringify(text)})`);
  return BigInt(text);
}

/** `%016x`, as etcdctl prints lease IDs in sentences. */
export function leaseHex16(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16).padStart(16, '0');
}

/** `%x`, as etcdctl prints them in `lease list`. */
export function leaseHex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16);
}

const json = (out: Output, obj: unknown): void => out.write(JSON.stringify(obj) + '\n');

export async function runLeaseGrant(c: LeaseClient, out: Output, ttlText: string): Promise<void> {
  const res = await c.grant(parseTtl(ttlText));
  if (out.format === 'json') return json(out, encodeLeaseGrantResponse(res));
  out.write(`lease ${leaseHex16(res.id)} granted with TTL(${res.ttl}s)\n`);
}

export async function runLeaseRevoke(c: LeaseClient, out: Output, idText: string): Promise<void> {
  const id = parseLeaseId(idText);
  const res = await c.revoke(id);
  if (out.format === 'json') return json(out, encodeLeaseRevokeResponse(res));
  out.write(`lease ${leaseHex16(id)} revoked\n`);
}

export async function runLeaseTimeToLive(c: LeaseClient, out: Output, idText: string, o: { keys?: boolean }): Promise<void> {
  const id = parseLeaseId(idText);
  const res = await c.timeToLive(id, { keys: o.keys ?? false });
  if (out.format === 'json') return json(out, encodeLeaseTimeToLiveResponse(res));
  if (res.ttl === -1) return out.write(`lease ${leaseHex16(id)} already expired\n`);
  let line = `lease ${leaseHex16(id)} granted with TTL(${res.grantedTtl}s), remaining(${res.ttl}s)`;
  if (o.keys) line += `, attached keys([${res.keys.map(bytesToString).join(' ')}])`;
  out.write(line + '\n');
}

export async function runLeaseList(c: LeaseClient, out: Output): Promise<void> {
  const res = await c.leases();
  if (out.format === 'json') return json(out, encodeLeaseLeasesResponse(res));
  out.write(`found ${res.leases.length} leases\n`);
  for (const l of res.leases) out.write(`${leaseHex(l.id)}\n`);
}

/**
 * `lease keep-alive <id>`: renews until the lease is lost (prints etcdctl's "expired or revoked."
 * and ends normally) or `stop` fires (SIGINT). `--once` renews once; a lease that does not exist
 * is then an error, as in etcdctl.
 */
export async function runLeaseKeepAlive(
  c: LeaseClient,
  out: Output,
  idText: string,
  o: { once?: boolean },
  onStarted?: (ka: LeaseKeepAlive) => void,
): Promise<void> {
  const id = parseLeaseId(idText);
  if (o.once) {
    const res = await c.keepAliveOnce(id);
    if (out.format === 'json') return json(out, encodeLeaseKeepAliveResponse(res));
    return out.write(`lease ${leaseHex16(id)} keepalived with TTL(${res.ttl})\n`);
  }
  const ka = c.keepAlive(id, {
    onRenew: (res) => {
      if (out.format === 'json') json(out, encodeLeaseKeepAliveResponse(res));
      else out.write(`lease ${leaseHex16(id)} keepalived with TTL(${res.ttl})\n`);
    },
  });
  onStarted?.(ka);
  const end = await ka.done;
  if (end.reason === 'expired') out.write(`lease ${leaseHex16(id)} expired or revoked.\n`);
  if (end.reason === 'unreachable') {
    const e = end.error;
    throw e instanceof KeywardError || e instanceof Error ? e : new Error(String(e));
  }
}
