// The alternative transport for the load generator: node:http with a keep-alive Agent
// (maxSockets = connections). It costs the generator more CPU per request than the raw
// client; it exists to cross-check that the raw client's numbers are not an artefact of
// its own HTTP parsing (`--client http`).

import * as http from 'node:http';
import type { ResponseHandler } from './raw-client.js';

export class HttpAgentPool {
  private readonly agent: http.Agent;

  constructor(
    private readonly host: string,
    private readonly port: number,
    connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  request(path: string, body: Buffer, handler: ResponseHandler): void {
    let done = false;
    const finish = (err: Error | null, status: number, resBody: Buffer): void => {
      if (done) return;
      done = true;
      handler(err, status, resBody);
    };
    const req = http.request(
      {
        agent: this.agent,
        host: this.host,
        port: this.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
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
