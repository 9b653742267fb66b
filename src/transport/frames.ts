// Stream framing: a stream body is a sequence of frames, each a big-endian u32 payload length
// followed by that many payload bytes (one encoded message). A zero-length frame is a link-level
// keep-alive: it proves the connection is alive and carries no message.
//
// Chunks from the socket split and join frames arbitrarily; FrameReader reassembles them. It
// checks the declared length against the cap before allocating, and gives every payload its own
// freshly allocated buffer so that decoded messages (whose byte fields are views into it) never
// pin a socket chunk holding other data.

import * as zlib from 'node:zlib';
import { FRAME_HEADER_BYTES } from './codec.js';
import { TransportError } from './errors.js';

/** A zero-length frame: the sender's keep-alive. */
export const KEEPALIVE_FRAME: Uint8Array = new Uint8Array(FRAME_HEADER_BYTES);

export class FrameReader {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private payload: Uint8Array | null = null;
  private payloadFill = 0;

  constructor(private readonly maxPayloadBytes: number) {}

  /** True when no partial frame is buffered (the stream may end here cleanly). */
  get atBoundary(): boolean {
    return this.headerFill === 0 && this.payload === null;
  }

  /**
   * Feeds one chunk; returns the payloads it completed, in order, skipping keep-alives. Throws
   * TransportError('TooLarge') as soon as a header declares more than the cap; the reader is
   * unusable afterwards (the stream must be dropped: framing is lost).
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < chunk.byteLength) {
      if (this.payload === null) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.byteLength - i);
        this.header.set(chunk.subarray(i, i + take), this.headerFill);
        this.headerFill += take;
        i += take;
        if (this.headerFill < FRAME_HEADER_BYTES) break;
        this.headerFill = 0;
        const len = new DataView(this.header.buffer).getUint32(0);
        if (len > this.maxPayloadBytes) throw new TransportError('TooLarge', `frame of ${len} bytes exceeds ${this.maxPayloadBytes}`);
        if (len === 0) continue; // keep-alive
        this.payload = new Uint8Array(len);
        this.payloadFill = 0;
      }
      const take = Math.min(this.payload.byteLength - this.payloadFill, chunk.byteLength - i);
      this.payload.set(chunk.subarray(i, i + take), this.payloadFill);
      this.payloadFill += take;
      i += take;
      if (this.payloadFill === this.payload.byteLength) {
        out.push(this.payload);
        this.payload = null;
      }
    }
    return out;
  }
}

// ---- CRC-32 (IEEE) for snapshot bodies ------------------------------------------------
// A snapshot replaces a member's whole state, so a damaged one must never be handed to raft
// (GUARANTEES D10/D11). TLS already authenticates bytes in flight; the checksum also covers
// plain-HTTP test setups and bugs in our own chunking. zlib.crc32 is native from Node 20.15;
// the table fallback keeps older Node 20 releases working.

type Crc32 = (data: Uint8Array, prev: number) => number;

// The typeof check matters at run time only: @types/node declares crc32 unconditionally.
const nativeCrc32: Crc32 | undefined = typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined;

let table: Uint32Array | null = null;
function tableCrc32(data: Uint8Array, prev: number): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~prev >>> 0;
  for (let i = 0; i < data.byteLength; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `data`, continuing from `prev` (0 to start). */
export function crc32(data: Uint8Array, prev = 0): number {
  return nativeCrc32 !== undefined ? nativeCrc32(data, prev) : tableCrc32(data, prev);
}

/** Exposed for the test that checks the fallback against the native implementation. */
export const crc32Fallback: Crc32 = tableCrc32;
