// One-off control requests of the orchestrator (health, leader, version, read-back checks, auth
// setup), over http:// or https:// with a client certificate. node:http(s) rather than fetch:
// Node 20's fetch takes no client certificate without undici's own Agent.

import * as http from 'node:http';
import * as https from 'node:https';
import type { Credentials } from './protocol.js';

export interface ControlResponse {
  status: number;
  text: string;
}

export interface ControlRequest {
  /** Default GET without a body, POST with one. */
  method?: string;
  /** A JSON body (sent as is). */
  body?: string;
  credentials?: Credentials | undefined;
  timeoutMs?: number;
}

/** Sends one request on a fresh connection (no agent) and reads the whole answer. */
export function controlRequest(url: string, req: ControlRequest = {}): Promise<ControlResponse> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  if (!secure && u.protocol !== 'http:') return Promise.reject(new TypeError(`unsupported URL ${url}`));
  const creds = req.credentials;
  const headers: Record<string, string | number> = {};
  if (req.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(req.body);
  }
  if (creds?.authorization !== undefined) headers['authorization'] = creds.authorization;
  const options: https.RequestOptions = {
    method: req.method ?? (req.body === undefined ? 'GET' : 'POST'),
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? (secure ? 443 : 80) : Number(u.port),
    path: `${u.pathname}${u.search}`,
    headers,
    agent: false,
    timeout: req.timeoutMs ?? 5000,
  };
  if (secure && creds?.tls !== undefined) Object.assign(options, { ca: creds.tls.ca, cert: creds.tls.cert, key: creds.tls.key });
  return new Promise<ControlResponse>((resolve, reject) => {
    const r = (secure ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`${options.method} ${url}: no answer within ${options.timeout} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** POSTs a JSON body and returns the parsed answer; anything but 200 is an Error with the body. */
export async function postJson(url: string, body: unknown, credentials?: Credentials): Promise<unknown> {
  const res = await controlRequest(url, { body: JSON.stringify(body), credentials });
  if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as unknown;
}
