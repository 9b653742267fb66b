import type { IncomingMessage } from 'node:http';

// One body read per request, capped before it is buffered: the cap is checked against
// Content-Length up front and against the bytes actually received as they arrive, so a client
// cannot make the member buffer more than the cap by lying or by chunked encoding.

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly received: number) {
    super(`body of at least ${received} bytes exceeds the limit`);
  }
}

export function readBody(req: IncomingMessage, cap: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > cap) return Promise.reject(new BodyTooLargeError(declared));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > cap) {
        failed = true;
        chunks.length = 0;
        reject(new BodyTooLargeError(size));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}
