// Bytes as etcd carries them: keys and values are arbitrary octets, shown on the wire as padded
// standard base64. Go's decoder is the reference for what is accepted and for the error offset.

import { Buffer } from 'node:buffer';
import { DecodeError } from './decode-error.js';
import type { Bytes } from './messages.js';

/** The proto default for a bytes field. Shared: a zero-length array has nothing to mutate. */
export const EMPTY_BYTES: Bytes = new Uint8Array(0);

// Exactly Go's base64.StdEncoding without the newlines it skips: we do not accept those, because
// no JSON client produces them and one strict grammar is easier to reason about.
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Node's pool hands out slices of a shared 8 KiB slab; those are copied so a retained key does not pin the slab. */
function ownBytes(buf: Buffer): Bytes {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) {
    return new Uint8Array(buf.buffer, 0, buf.byteLength);
  }
  return new Uint8Array(buf);
}

/** Decodes a bytes field. Throws DecodeError('BASE64') with Go's message for anything Go rejects. */
export function base64Decode(text: string): Bytes {
  if (text.length === 0) return EMPTY_BYTES;
  // Buffer.from is lenient (URL-safe letters, missing padding, junk skipped), so the grammar is
  // checked first; the regex is native code and cheaper than a JS loop over every character.
  if (!STD_BASE64.test(text)) {
    throw new DecodeError('BASE64', `illegal base64 data at input byte ${goBase64ErrorOffset(text)}`);
  }
  return ownBytes(Buffer.from(text, 'base64'));
}

export function base64Encode(bytes: Bytes): string {
  if (bytes.length === 0) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function isBase64Letter(c: number): boolean {
  return (
    (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 /* + */ || c === 47 /* / */
  );
}

/**
 * The byte offset Go's decoder names for an invalid input, following its quantum-by-quantum walk:
 * a bad letter is reported where it stands, a short final quantum at its start, missing second `=`
 * at the end of input, and anything after the padding where it begins. Only called on the error path.
 */
function goBase64ErrorOffset(text: string): number {
  const n = text.length;
  let at = -1;
  let si = 0;
  scan: while (true) {
    for (let j = 0; j < 4; j++) {
      if (si === n) {
        at = j === 0 ? -1 : si - j;
        break scan;
      }
      const c = text.charCodeAt(si++);
      if (isBase64Letter(c)) continue;
      if (c !== 61 /* = */ || j < 2) {
        at = si - 1;
        break scan;
      }
      if (j === 2) {
        if (si === n) {
          at = n;
          break scan;
        }
        if (text.charCodeAt(si) !== 61) {
          at = si - 1;
          break scan;
        }
        si++;
      }
      at = si < n ? si : -1;
      break scan;
    }
  }
  // The regex and this walk describe the same language, so -1 cannot happen here; 0 keeps the
  // message well-formed if they ever drift apart.
  if (at < 0) return 0;
  // Go counts bytes of the UTF-8 string, JS counts UTF-16 units.
  return Buffer.byteLength(text.slice(0, at), 'utf8');
}

export function bytesFromString(text: string): Bytes {
  return ownBytes(Buffer.from(text, 'utf8'));
}

/** UTF-8 decoding; invalid sequences become U+FFFD, as Node's decoder does. */
export function bytesToString(bytes: Bytes): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * The range end that covers every key starting with `key` (etcd's GetPrefixRangeEnd): the last byte
 * below 0xff is incremented and whatever follows it dropped, so `a/` gives `a0` and `a\xff` gives `b`.
 * When no such byte exists (empty or all 0xff), there is no finite end: `\0` means "to the end of
 * the keyspace" in a range request.
 */
export function prefixEnd(key: Bytes): Bytes {
  for (let i = key.length - 1; i >= 0; i--) {
    const b = key[i] as number;
    if (b < 0xff) {
      // A fresh array, not key.slice: on a Buffer, slice is a view and the increment would write
      // into the caller's key.
      const end = new Uint8Array(i + 1);
      end.set(key.subarray(0, i + 1));
      end[i] = b + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}
