// A revision is (main, sub): main is the store revision a write belongs to, sub numbers the changes
// inside it (a txn or delete-range touching N keys writes subs 0..N-1). Both fit in a JS number
// (< 2^53). On disk it is 16 bytes, main then sub, each unsigned 64-bit big-endian, so LMDB's
// bytewise order is revision order. Decoding rejects anything this module could not have written.
import { CorruptError } from './errors.js';

export const REV_BYTES = 16;
const TWO_32 = 0x1_0000_0000;

export interface Revision {
  main: number;
  sub: number;
}

export function writeU64(buf: Uint8Array, offset: number, n: number): void {
  const hi = Math.floor(n / TWO_32);
  const lo = n - hi * TWO_32;
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

/** Reads an unsigned 64-bit big-endian integer; anything beyond 2^53 - 1 is corruption. */
export function readU64(buf: Uint8Array, offset: number, what: string): number {
  const hi = ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
  const lo = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  if (hi > 0x1f_ffff) throw new CorruptError(`${what} exceeds 2^53`);
  return hi * TWO_32 + lo;
}

export function encodeRevision(main: number, sub: number, out = new Uint8Array(REV_BYTES), offset = 0): Uint8Array {
  writeU64(out, offset, main);
  writeU64(out, offset + 8, sub);
  return out;
}

export function decodeRevision(buf: Uint8Array, offset = 0, length = buf.length - offset): Revision {
  if (length !== REV_BYTES) throw new CorruptError(`revision of ${length} bytes`);
  return { main: readU64(buf, offset, 'revision'), sub: readU64(buf, offset + 8, 'sub-revision') };
}
