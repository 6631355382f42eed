// The floor: Sluice's two ends with nothing between them, for bench/load.ts to measure beside nginx and Sluice.
//
//   node bench/load/bare-node-proxy.ts --listen P1:U1,U2 [--listen P2:U3,U4 ...]
//
// Each `--listen` is a port and its backends. node:http's server (as Sluice's listener) in front of Sluice's own
// upstream client (core/proxy/raw-http1.ts), round-robin over the backends: the request body read whole and sent in
// one write, the answer's status and end-to-end headers passed on, each body chunk written as it arrives. No
// routing, keys, limits, metrics, JSON parsing or extra headers. Its cost per request and per chunk against nginx's
// is what the runtime and these two ends take before any gateway work; Sluice's figures against it are what the
// gateway adds.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import type { Dispatcher } from 'undici';
import { RawHttp1Dispatcher } from '../../core/proxy/raw-http1.ts';

const { values } = parseArgs({ options: { listen: { type: 'string', multiple: true } }, strict: true });

/** Sluice's defaults where they matter (keep-alive 60 s, no socket cap); no deadlines: the bench ends every request. */
const UPSTREAM = { timeouts: { connect: 0, firstByte: 0, idle: 0, total: 0 }, keepAliveMs: 60_000, connectionsPerOrigin: null };
/** Per hop, never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function forward(backend: RawHttp1Dispatcher, req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const handler: Dispatcher.DispatchHandler = {
    onResponseStart(_controller, status, headers) {
      const out: Record<string, string | string[]> = {};
      for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name]!;
      res.writeHead(status, out);
    },
    onResponseData(_controller, chunk) {
      res.write(chunk);
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError() {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  };
  const headers: Record<string, string> = { 'content-type': req.headers['content-type'] ?? 'application/json' };
  const authorization = req.headers['authorization'];
  if (authorization !== undefined) headers['authorization'] = authorization;
  backend.dispatch({ method: req.method ?? 'GET', path: req.url ?? '/', headers, body }, handler);
}

function serve(port: number, backendPorts: readonly number[]): void {
  const backends = backendPorts.map((p) => new RawHttp1Dispatcher(`http://127.0.0.1:${p}`, UPSTREAM));
  let next = 0;
  createServer((req, res) => {
    const backend = backends[next++ % backends.length]!;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(backend, req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  }).listen(port, '127.0.0.1');
}

for (const spec of values.listen ?? []) {
  const [port, backends] = spec.split(':');
  serve(Number(port), (backends ?? '').split(',').map(Number));
}
// A plain exit on SIGTERM, so `--cpu-prof` and the like write their output.
process.once('SIGTERM', () => process.exit(0));
