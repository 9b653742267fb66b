import { createHash } from 'node:crypto';

// Member and cluster IDs are derived the way etcd derives them, so a member started with the same
// name, peer URLs and cluster token has the same IDs on every fresh start (API.md section 3).
// etcd: member ID = first 8 bytes (big-endian) of sha1(sorted peer URLs joined + cluster token);
// cluster ID = the same over the sorted member IDs as 8-byte big-endian values.

export function memberIdFor(peerUrls: readonly string[], clusterToken: string): bigint {
  const sorted = [...peerUrls].sort();
  const digest = createHash('sha1').update(sorted.join('') + clusterToken).digest();
  return digest.readBigUInt64BE(0);
}

export function clusterIdFor(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => buf.writeBigUInt64BE(id, i * 8));
  return createHash('sha1').update(buf).digest().readBigUInt64BE(0);
}
