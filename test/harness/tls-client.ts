// Calls to a TLS client port with a client certificate, for process tests of secure members.
// Global fetch cannot present a client certificate without undici's Agent (not a dependency), so
// this uses https.request with the hardened client options of src/tls.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { clientTlsOptions } from '../../src/tls/index.js';

/** What a client of a secure member needs: the client CA to trust, and a user's certificate and key. */
export interface ClientTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

import type { Json } from './cluster.js';

/** Connection options for `files` (the certificate and key may be left out: a client without one). */
export function tlsConnection(files: { ca: string; cert?: string; key?: string }): ConnectionOptions {
  const ca = readFileSync(files.ca, 'utf8');
  if (files.cert === undefined || files.key === undefined) {
    // No client certificate: still verify the server (clientTlsOptions requires a cert and key).
    return { ca, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
  }
  return clientTlsOptions({ ca, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') });
}

export interface TlsAnswer {
  status: number;
  json: Json;
  text: string;
}

/**
 * POSTs `body` (JSON, or a string as is) to `url + path` over TLS with `conn`, a fresh connection
 * each time (agent: false), so a test sees what a new handshake gives.
 */
export function tlsPost(url: string, path: string, body: unknown, conn: ConnectionOptions, headers: Record<string, string> = {}): Promise<TlsAnswer> {
  const u = new URL(path, url);
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { ...conn, host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json: Json = {};
          try {
            json = JSON.parse(text) as Json;
          } catch {
            // not JSON: the caller looks at text
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** tlsPost with a client's files. */
export function callTls(url: string, path: string, body: unknown, files: ClientTlsFiles, headers: Record<string, string> = {}): Promise<TlsAnswer> {
  return tlsPost(url, path, body, tlsConnection(files), headers);
}
