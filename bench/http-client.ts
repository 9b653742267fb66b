// The alternative transport for the load generator: node:http(s) with a keep-alive Agent
// (maxSockets = connections). It costs the generator more CPU per request than the raw
// client; it exists to cross-check that the raw client's numbers are not an artefact of
// its own HTTP parsing (`--client http`). For https:// targets the Agent carries the client
// certificate and caches TLS sessions (Node's default), so reconnects resume.

import * as http from 'node:http';
import * as https from 'node:https';
import type { Credentials } from './protocol.js';
import type { ResponseHandler } from './raw-client.js';

export class HttpAgentPool {
  private readonly agent: http.Agent;
  private readonly lib: typeof http | typeof https;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly host: string,
    private readonly port: number,
    connections: number,
    secure = false,
    credentials?: Credentials,
  ) {
    const pool = { keepAlive: true, maxSockets: connections, maxFreeSockets: connections };
    const t = credentials?.tls;
    this.agent = secure ? new https.Agent({ ...pool, ...(t === undefined ? {} : { ca: t.ca, cert: t.cert, key: t.key }) }) : new http.Agent(pool);
    this.lib = secure ? https : http;
    this.headers = credentials?.authorization === undefined ? {} : { authorization: credentials.authorization };
  }

  request(path: string, body: Buffer, handler: ResponseHandler): void {
    let done = false;
    const finish = (err: Error | null, status: number, resBody: Buffer): void => {
      if (done) return;
      done = true;
      handler(err, status, resBody);
    };
    const req = this.lib.request(
      {
        agent: this.agent,
        host: this.host,
        port: this.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...this.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish(null, res.statusCode ?? 0, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
        res.on('error', (err: Error) => finish(err, 0, Buffer.alloc(0)));
      },
    );
    req.setNoDelay(true);
    req.on('error', (err: Error) => finish(err, 0, Buffer.alloc(0)));
    req.end(body);
  }

  close(): void {
    this.agent.destroy();
  }
}
