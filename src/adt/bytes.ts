// Byte strings as etcd orders them: keys are arbitrary octets compared bytewise, a proper prefix
// first (the order of LMDB binary keys and of Go's bytes.Compare). Pure functions with no imports,
// so every module may use them (ARCHITECTURE.md: adt imports nothing).

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** The range end etcd reads as "no upper bound" (`range_end` = "\0"). */
export const NO_END: Uint8Array = Uint8Array.of(0);

/** Bytewise comparison: negative, zero or positive as `a` sorts before, equal to or after `b`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `prefix` is a prefix of `b` (every byte string has the empty prefix). */
export function hasPrefix(b: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > b.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/**
 * The range end that covers exactly the keys starting with `prefix`, as etcd computes it
 * (clientv3 GetPrefixRangeEnd): the prefix with its last byte below 0xff incremented and the
 * bytes after it dropped. When no such end exists (the prefix is empty or all 0xff) the answer is
 * NO_END, "\0", which etcd reads as "to the end of the key space".
 *
 *   "a/"  -> "a0"      "a\xff" -> "b"      "\xff\xff" -> "\0"      "" -> "\0"
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix[i] as number;
    if (c < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = c + 1;
      return end;
    }
  }
  return NO_END;
}

/** The smallest key after `key`: `key` + "\0". [key, successor(key)) holds `key` alone. */
export function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

// Chunked so String.fromCharCode never gets more arguments than an engine accepts.
const CHUNK = 4096;

/**
 * A string with one char per byte (code units 0-255), for using byte strings as Map keys: distinct
 * byte strings give distinct strings, and the string order is the byte order.
 */
export function byteString(b: Uint8Array): string {
  // apply() takes any array-like; the casts only tell TypeScript so (no copy into a number[]).
  if (b.length <= CHUNK) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = '';
  for (let i = 0; i < b.length; i += CHUNK) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return s;
}
