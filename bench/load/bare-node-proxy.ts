// The runtime's floor: the least a Node proxy does, for bench/load.ts to measure beside nginx and Sluice.
//
//   node bench/load/bare-node-proxy.ts --listen P1:U1,U2 [--listen P2:U3,U4 ...]
//
// Each `--listen` is a port and its backends. http.createServer in front of node:http's client (a keep-alive
// agent), round-robin over the backends, the request body piped up, the answer's status and headers passed on and
// each body chunk written as it arrives. No routing, keys, limits, metrics, body parsing or header rewriting: what
// Node's own HTTP machinery costs per request and per chunk, so that Sluice's figures against nginx can be read
// against the most any Node proxy reaches on the same machine in the same run.

import { Agent, createServer, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { listen: { type: 'string', multiple: true } }, strict: true });
const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });

function serve(port: number, backends: readonly number[]): void {
  let next = 0;
  createServer((req, res) => {
    const backend = backends[next++ % backends.length]!;
    const upstream = request({ host: '127.0.0.1', port: backend, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => res.write(chunk));
      answer.on('end', () => res.end());
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    // A client that leaves takes its upstream request with it, as any proxy's should.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }).listen(port, '127.0.0.1');
}

for (const spec of values.listen ?? []) {
  const [port, backends] = spec.split(':');
  serve(Number(port), (backends ?? '').split(',').map(Number));
}
process.stdout.write('listening\n');
