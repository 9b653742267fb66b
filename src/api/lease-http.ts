// etcd's lease API over HTTP: the unary RPCs (served on createApi's fast path like the KV ones)
// and the keep-alive stream (an express route). Handlers decode, delegate and encode; the only
// policy here is where a question goes: renewals and time-to-live to the leader (lease-forward.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from 'express';
import type { KeywardServer, RequestAuth } from '../server/index.js';
import {
  decodeLeaseGrantRequest,
  decodeLeaseLeasesRequest,
  decodeLeaseRevokeRequest,
  decodeLeaseTimeToLiveRequest,
  encodeLeaseGrantResponseText,
  encodeLeaseLeasesResponseText,
  encodeLeaseRevokeResponseText,
  encodeLeaseTimeToLiveResponseText,
} from '../wire/index.js';
import { LeaseLeaderClient } from './lease-forward.js';
import { keepAliveHandler, type KeepAliveOptions } from './lease-keepalive.js';

/** A unary RPC as createApi serves it: the parsed body (and the request, for its headers) in, JSON text out. */
export type LeaseRpc = (body: unknown, req: IncomingMessage, auth: RequestAuth) => Promise<string>;

export interface LeaseApi {
  /** Unary RPCs by path below /v3, aliases included. */
  rpcs: Record<string, LeaseRpc>;
  /** Adds the keep-alive stream to the /v3 router (before its catch-all). */
  route(v3: Router): void;
}

export function leaseApi(server: KeywardServer, opts: KeepAliveOptions): LeaseApi {
  const leader = new LeaseLeaderClient(server);
  const revoke: LeaseRpc = (b, _req, auth) => server.leaseRevoke(decodeLeaseRevokeRequest(b).id, auth).then(encodeLeaseRevokeResponseText);
  const timeToLive: LeaseRpc = (b, _req, auth) => leader.timeToLive(decodeLeaseTimeToLiveRequest(b), auth).then(encodeLeaseTimeToLiveResponseText);
  const leases: LeaseRpc = async (b, _req, auth) => {
    decodeLeaseLeasesRequest(b);
    return encodeLeaseLeasesResponseText(await server.leaseLeases(auth));
  };
  const keepAlive = keepAliveHandler(server, leader, opts);
  return {
    rpcs: {
      '/lease/grant': (b, _req, auth) => server.leaseGrant(decodeLeaseGrantRequest(b), auth).then(encodeLeaseGrantResponseText),
      '/lease/revoke': revoke,
      '/lease/timetolive': timeToLive,
      '/lease/leases': leases,
      // etcd 3.4 still binds these older paths (API.md section 1).
      '/kv/lease/revoke': revoke,
      '/kv/lease/timetolive': timeToLive,
      '/kv/lease/leases': leases,
    },
    route(v3) {
      v3.post('/lease/keepalive', (req, res) => keepAlive(req, res));
      v3.options('/lease/keepalive', (_req, res) => {
        res.writeHead(200, { 'Content-Length': '0' }).end();
      });
      v3.all('/lease/keepalive', (_req, res: ServerResponse) => {
        res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 18 }).end('Method Not Allowed');
      });
    },
  };
}
