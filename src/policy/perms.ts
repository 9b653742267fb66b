// Permission forms: the file's four spellings <-> etcd's (key, rangeEnd) pair (see model.ts).
import { bytesFromString, bytesToString, prefixEnd } from '../wire/index.js';
import { equalBytes, type Permission, type PermType } from './model.js';

/** A permission as a policy file spells it. Exactly one of key / prefix / fromKey; rangeEnd only with key. */
export type PermDoc =
  | { permType: PermType; key: string; rangeEnd?: string }
  | { permType: PermType; prefix: string }
  | { permType: PermType; fromKey: string };

const OPEN_END = new Uint8Array([0]);

export function permFromDoc(d: PermDoc): Permission {
  if ('prefix' in d) {
    const key = bytesFromString(d.prefix);
    return { permType: d.permType, key, rangeEnd: prefixEnd(key) };
  }
  if ('fromKey' in d) return { permType: d.permType, key: bytesFromString(d.fromKey), rangeEnd: OPEN_END };
  return { permType: d.permType, key: bytesFromString(d.key), rangeEnd: d.rangeEnd === undefined ? new Uint8Array(0) : bytesFromString(d.rangeEnd) };
}

/** The string a UTF-8 key spells, or undefined when the bytes are not valid UTF-8 (no file can hold them). */
function text(b: Uint8Array): string | undefined {
  const s = bytesToString(b);
  return equalBytes(bytesFromString(s), b) ? s : undefined;
}

/**
 * The shortest spelling, so that export writes what a person would: an open end is `fromKey`, the
 * prefix end of the key is `prefix`, an empty end is a single `key`. undefined: not UTF-8.
 * (`prefix: ""` and `fromKey: ""` are the same range, the whole keyspace; this writes `fromKey`.)
 */
export function permToDoc(p: Permission): PermDoc | undefined {
  const key = text(p.key);
  if (key === undefined) return undefined;
  if (p.rangeEnd.length === 0) return { permType: p.permType, key };
  if (equalBytes(p.rangeEnd, OPEN_END)) return { permType: p.permType, fromKey: key };
  if (p.key.length > 0 && equalBytes(p.rangeEnd, prefixEnd(p.key))) return { permType: p.permType, prefix: key };
  const rangeEnd = text(p.rangeEnd);
  if (rangeEnd === undefined) return undefined;
  return { permType: p.permType, key, rangeEnd };
}

/** The range for a diff line, in the file's words: `prefix "app/"`, `range ["a", "b")`. */
export function describeRange(p: Permission): string {
  const d = permToDoc(p);
  const q = (s: string): string => JSON.stringify(s);
  const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;
  if (d === undefined) return p.rangeEnd.length === 0 ? `key ${hex(p.key)}` : `range [${hex(p.key)}, ${hex(p.rangeEnd)})`;
  if ('prefix' in d) return `prefix ${q(d.prefix)}`;
  if ('fromKey' in d) return `fromKey ${q(d.fromKey)}`;
  return d.rangeEnd === undefined ? `key ${q(d.key)}` : `range [${q(d.key)}, ${q(d.rangeEnd)})`;
}
