// Byte-string helpers for user keys. (They belong in src/adt once it exists; kept local so mvcc
// does not wait for it.)

export const EMPTY = new Uint8Array(0);

/** Bytewise comparison, a proper prefix first: the order of etcd keys and of LMDB binary keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** A plain Uint8Array view (not a Buffer) of part of `buf`, sharing its memory. */
export function view(buf: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + offset, length);
}

/** Map key for a byte string (latin1 keeps one char per byte, so distinct bytes stay distinct). */
export function byteKey(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.length).toString('latin1');
}
