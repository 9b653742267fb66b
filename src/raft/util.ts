import type { Entry, NodeId } from './types.js';

/** Exhaustiveness guard for switches over discriminated unions. */
export function assertNever(x: never): never {
  const tag = typeof x === 'object' && x !== null && 'type' in x ? String((x as { type: unknown }).type) : String(x);
  throw new Error(`raft: unexpected variant ${tag}`);
}

/**
 * Approximate encoded size of an entry: payload plus a fixed allowance for
 * term, index and type. Only used for flow control (message size, in-flight
 * bytes, Ready size), so an estimate is enough.
 */
export const ENTRY_OVERHEAD = 16;

export function entrySize(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD;
}

export function entriesSize(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += entrySize(e);
  return s;
}

/** Payload bytes only; what counts against the uncommitted-size limit (empty entries are free). */
export function payloadsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += e.data.byteLength;
  return s;
}

/**
 * Returns the longest prefix of `ents` whose total size is at most `maxSize`,
 * but always at least one entry, so that a single oversized entry still makes
 * progress.
 */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** A string usable as a Map key that is equal exactly when the bytes are equal. */
export function bytesKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** IDs in ascending order: iteration order must not depend on insertion history. */
export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort(compareIds);
}

export function fmtId(id: NodeId): string {
  return id.toString(16);
}
