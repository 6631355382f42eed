// The upstream ceiling: how fast can a minimal Node proxy go, by upstream client, against nginx on the same machine?
//
//   node bench/upstream-ceiling.ts [--duration 6 --rounds 5 --connections 64]
//
// Four proxies in front of one backend simulator, each alone on core 0 (simulator and wrk on core 1, as in
// bench/load.ts): nginx with one worker; a bare http.createServer forwarding with undici's Pool.dispatch; the same
// server forwarding with a minimal raw HTTP/1.1 keep-alive client on net.Socket (one write per request, the
// response head and body parsed by hand); and that raw client behind a minimal server on net.Socket instead of
// http.Server. The Node proxies do nothing else: no routing, no keys, no metrics, so their figures are the most a
// Node proxy can reach; the gap between the first two Node rows is what the upstream client costs, and between the
// last two what node:http's server side costs. Rounds interleave the four; the report gives medians and each proxy's
// req/s as a share of nginx's from the same round.
//
// The same file is the proxy: `node bench/upstream-ceiling.ts --serve undici|raw|net --port P --upstream-port U`.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';
import { Wrk } from './load/loadgen.ts';
import { nginxConf } from './load/nginx.ts';
import { Processes, cpuSeconds, findBinary, freePort, pinSelf, sleep, waitForHttp, waitForOutput } from './load/procs.ts';
import { median } from './load/stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CORES = availableParallelism();
const START_TIMEOUT_MS = 20_000;
const PAUSE_MS = 500;
const BODY = JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: 'hello' }] });

// ---------------------------------------------------------------------------------------------------------------
// The proxies (child mode)

/** One forwarded request's answer, whichever client fetched it. */
interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
}

type Forward = (method: string, path: string, body: Buffer, done: (error: Error | null, answer: Answer | null) => void) => void;

function undiciForward(upstream: string): Forward {
  const pool = new Pool(upstream, { connections: null, pipelining: 1, keepAliveTimeout: 60_000 });
  return (method, path, body, done) => {
    let status = 0;
    let contentType = '';
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_controller, statusCode, headers) {
        status = statusCode;
        const type = headers['content-type'];
        contentType = typeof type === 'string' ? type : 'application/json';
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        done(null, { status, contentType, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
      },
      onResponseError(_controller, error) {
        done(error, null);
      },
    };
    pool.dispatch({ origin: upstream, method: method as Dispatcher.HttpMethod, path, headers: { 'content-type': 'application/json' }, body }, handler);
  };
}

/** A bare keep-alive HTTP/1.1 client: just enough for the simulator's answers (content-length or chunked). */
class RawConnection {
  readonly socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #done: ((error: Error | null, answer: Answer | null) => void) | null = null;
  #status = 0;
  #contentType = '';
  #headDone = false;
  #length = -1;
  #chunked = false;
  #chunks: Buffer[] = [];
  onIdle: (c: RawConnection) => void = () => {};
  onGone: (c: RawConnection) => void = () => {};

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (data: Buffer) => this.#onData(data));
    const fail = (error: Error): void => {
      this.onGone(this);
      const done = this.#done;
      this.#done = null;
      done?.(error, null);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('upstream closed')));
  }

  send(head: string, body: Buffer, done: (error: Error | null, answer: Answer | null) => void): void {
    this.#done = done;
    this.#headDone = false;
    this.#chunks = [];
    this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  }

  #onData(data: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data]);
    if (!this.#headDone) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.#buffer.toString('latin1', 0, end).split('\r\n');
      this.#status = Number(lines[0]!.slice(9, 12));
      this.#length = -1;
      this.#chunked = false;
      this.#contentType = 'application/json';
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'content-length') this.#length = Number(value);
        else if (name === 'transfer-encoding') this.#chunked = value.toLowerCase() === 'chunked';
        else if (name === 'content-type') this.#contentType = value;
      }
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#headDone = true;
    }
    if (this.#chunked) {
      for (;;) {
        const eol = this.#buffer.indexOf('\r\n');
        if (eol < 0) return;
        const size = parseInt(this.#buffer.toString('latin1', 0, eol), 16);
        if (this.#buffer.length < eol + 2 + size + 2) return;
        if (size === 0) {
          this.#buffer = this.#buffer.subarray(eol + 4);
          return this.#finish();
        }
        this.#chunks.push(this.#buffer.subarray(eol + 2, eol + 2 + size));
        this.#buffer = this.#buffer.subarray(eol + 2 + size + 2);
      }
    }
    if (this.#buffer.length < this.#length) return;
    this.#chunks.push(this.#buffer.subarray(0, this.#length));
    this.#buffer = this.#buffer.subarray(this.#length);
    this.#finish();
  }

  #finish(): void {
    const done = this.#done!;
    this.#done = null;
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.onIdle(this);
    done(null, { status: this.#status, contentType: this.#contentType, body });
  }
}

function rawForward(host: string, port: number): Forward {
  const idle: RawConnection[] = [];
  return (method, path, body, done) => {
    let conn = idle.pop();
    if (conn === undefined) {
      conn = new RawConnection(host, port);
      conn.onIdle = (c) => idle.push(c);
      conn.onGone = (c) => {
        const i = idle.indexOf(c);
        if (i >= 0) idle.splice(i, 1);
      };
    }
    const head = `${method} ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    conn.send(head, body, done);
  };
}

/**
 * The same raw client behind a minimal HTTP/1.1 server on net.Socket instead of http.Server: the request head is
 * read by hand (request line, Content-Length), and the answer's head and body leave in one write. Enough for wrk's
 * keep-alive POSTs and nothing more (no chunked requests, no pipelining, no limits): it measures what node:http's
 * server side costs, not a server to ship.
 */
function serveOnNet(port: number, upstreamPort: number): void {
  const forward = rawForward('127.0.0.1', upstreamPort);
  const server = createNetServer({ noDelay: true }, (socket) => {
    let buffer: Buffer = Buffer.alloc(0);
    let busy = false;
    const next = (): void => {
      if (busy) return;
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.toString('latin1', 0, end);
      const lineEnd = head.indexOf('\r\n');
      const [method = 'GET', path = '/'] = head.slice(0, lineEnd).split(' ');
      const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const length = match === null ? 0 : Number(match[1]);
      if (buffer.length < end + 4 + length) return;
      const body = buffer.subarray(end + 4, end + 4 + length);
      buffer = buffer.subarray(end + 4 + length);
      busy = true;
      forward(method, path, body, (error, answer) => {
        busy = false;
        const payload = error !== null || answer === null ? Buffer.from(`bad gateway: ${String(error)}`) : answer.body;
        const status = error !== null || answer === null ? '502 Bad Gateway' : `${answer.status} ${STATUS_CODES[answer.status] ?? ''}`;
        const type = answer?.contentType ?? 'text/plain';
        socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\ncontent-type: ${type}\r\ncontent-length: ${payload.length}\r\nconnection: keep-alive\r\n\r\n`, 'latin1'), payload]));
        next();
      });
    };
    socket.on('data', (data: Buffer) => {
      buffer = buffer.length === 0 ? data : Buffer.concat([buffer, data]);
      next();
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

function serve(kind: string, port: number, upstreamPort: number): void {
  const forward = kind === 'raw' ? rawForward('127.0.0.1', upstreamPort) : undiciForward(`http://127.0.0.1:${upstreamPort}`);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      forward(req.method ?? 'GET', req.url ?? '/', parts.length === 1 ? parts[0]! : Buffer.concat(parts), (error, answer) => {
        if (error !== null || answer === null) {
          res.writeHead(502, { 'content-type': 'text/plain' }).end(`bad gateway: ${String(error)}`);
          return;
        }
        res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': answer.body.length });
        res.end(answer.body);
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark

const TARGETS = ['nginx', 'node+undici', 'node+raw', 'net+raw'] as const;
type Target = (typeof TARGETS)[number];

interface Row {
  rps: number;
  p99Ms: number;
  cpuUs: number;
  errors: number;
}

async function bench(durationS: number, rounds: number, connections: number): Promise<number> {
  const nginx = findBinary('nginx', ['/usr/sbin', '/usr/local/sbin']);
  const wrkBinary = findBinary('wrk');
  if (nginx === null || wrkBinary === null) {
    process.stderr.write('needs nginx and wrk installed\n');
    return 1;
  }
  const pinned = findBinary('taskset') !== null && CORES >= 2 && pinSelf(1);
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-ceiling-'));
  const procs = new Processes(pinned);
  process.once('exit', () => procs.killAllNow());
  try {
    const [simPort, nginxPort, undiciPort, rawPort, netPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const sim = procs.start('simulator', process.execPath, ['test/sim/cli.ts', '--kind', 'openai', '--port', String(simPort)], 1, ROOT);
    await waitForOutput(sim, /^listening /m, START_TIMEOUT_MS);
    writeFileSync(join(tmp, 'nginx.conf'), nginxConf(join(tmp, 'nginx'), [{ listenPort: nginxPort, upstreamPorts: [simPort] }]));
    const ngx = procs.start('nginx', nginx, ['-p', tmp, '-c', join(tmp, 'nginx.conf'), '-e', join(tmp, 'nginx', 'startup.log')], 0, tmp);
    const self = import.meta.filename;
    const undici = procs.start('node+undici', process.execPath, [self, '--serve', 'undici', '--port', String(undiciPort), '--upstream-port', String(simPort)], 0, ROOT);
    const raw = procs.start('node+raw', process.execPath, [self, '--serve', 'raw', '--port', String(rawPort), '--upstream-port', String(simPort)], 0, ROOT);
    const net = procs.start('net+raw', process.execPath, [self, '--serve', 'net', '--port', String(netPort), '--upstream-port', String(simPort)], 0, ROOT);
    const url = (port: number): string => `http://127.0.0.1:${port}/v1/chat/completions`;
    const ports: Record<Target, number> = { nginx: nginxPort, 'node+undici': undiciPort, 'node+raw': rawPort, 'net+raw': netPort };
    const pids: Record<Target, number> = { nginx: ngx.proc.pid!, 'node+undici': undici.proc.pid!, 'node+raw': raw.proc.pid!, 'net+raw': net.proc.pid! };
    await Promise.all([ngx, undici, raw, net].map((c, i) => waitForHttp(c, url([nginxPort, undiciPort, rawPort, netPort][i]!), START_TIMEOUT_MS)));
    const wrk = new Wrk(wrkBinary, procs, tmp);
    const rows = new Map<Target, Row[]>(TARGETS.map((t) => [t, []]));
    const ratios = new Map<Target, number[]>(TARGETS.map((t) => [t, []]));
    for (let r = 0; r <= rounds; r++) {
      const label = r === 0 ? '[warm-up]' : `[round ${r}/${rounds}]`;
      const round = new Map<Target, Row>();
      // Each round starts one further along, so no proxy always runs right after another's closing sockets.
      const order = TARGETS.map((_, i) => TARGETS[(i + r) % TARGETS.length]!);
      for (const t of order) {
        const before = cpuSeconds(pids[t]);
        const load = await wrk.run({ url: url(ports[t]), body: BODY, connections, durationS: r === 0 ? 2 : durationS });
        const row: Row = { rps: load.rps, p99Ms: load.p99Ms, cpuUs: ((cpuSeconds(pids[t]) - before) * 1e6) / load.requests, errors: load.errors };
        const dead = procs.firstDead();
        if (dead !== undefined) throw new Error(`${dead.name} died (${dead.exitReason ?? '?'}): ${dead.output}`);
        process.stderr.write(`${label} ${t}: ${Math.round(row.rps)} req/s, p99 ${row.p99Ms.toFixed(2)} ms, CPU ${row.cpuUs.toFixed(1)} µs/req, errors ${row.errors}\n`);
        round.set(t, row);
        await sleep(PAUSE_MS);
      }
      if (r === 0) continue;
      for (const t of TARGETS) {
        rows.get(t)!.push(round.get(t)!);
        ratios.get(t)!.push(round.get(t)!.rps / round.get('nginx')!.rps);
      }
    }
    const perRound = (f: (raw: Row, und: Row) => number): string =>
      median(rows.get('node+raw')!.map((row, i) => f(row, rows.get('node+undici')![i]!))).toFixed(2);
    const serverSide = (f: (net: Row, http: Row) => number, digits: number): string =>
      median(rows.get('net+raw')!.map((row, i) => f(row, rows.get('node+raw')![i]!))).toFixed(digits);
    const out = [
      '',
      `Upstream ceiling - node ${process.version}, ${CORES} cores, ${pinned ? 'proxy on core 0; simulator and wrk on core 1' : 'UNPINNED'}`,
      `wrk, ${connections} connections, non-streaming chat, ${durationS} s x ${rounds} rounds (interleaved), medians`,
      '',
      '| proxy | req/s | vs nginx (median of per-round ratios) | p99 ms | proxy CPU µs/req | errors |',
      '|---|---:|---:|---:|---:|---:|',
      ...TARGETS.map((t) => {
        const list = rows.get(t)!;
        const m = (pick: (row: Row) => number): number => median(list.map(pick));
        const errors = list.reduce((sum, row) => sum + row.errors, 0);
        return `| ${t} | ${Math.round(m((x) => x.rps))} | ${median(ratios.get(t)!).toFixed(2)}x | ${m((x) => x.p99Ms).toFixed(2)} | ${m((x) => x.cpuUs).toFixed(1)} | ${errors} |`;
      }),
      '',
      `node+raw / node+undici, medians of per-round ratios: req/s ${perRound((raw, und) => raw.rps / und.rps)}x, ` +
        `proxy CPU per request ${perRound((raw, und) => raw.cpuUs / und.cpuUs)}x`,
      `net+raw / node+raw (node:http's server side), medians of per-round ratios: req/s ${serverSide((net, http) => net.rps / http.rps, 2)}x, ` +
        `proxy CPU per request ${serverSide((net, http) => net.cpuUs / http.cpuUs, 2)}x (${serverSide((net, http) => http.cpuUs - net.cpuUs, 1)} µs less)`,
      '(on a shared machine req/s swings with what else runs; CPU per request is what the proxy itself spent)',
      '',
    ];
    process.stdout.write(out.join('\n'));
    return 0;
  } finally {
    await procs.stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    port: { type: 'string' },
    'upstream-port': { type: 'string' },
    duration: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '64' },
  },
  strict: true,
});

if (values.serve !== undefined) {
  if (values.serve === 'net') serveOnNet(Number(values.port), Number(values['upstream-port']));
  else if (values.serve === 'undici' || values.serve === 'raw') serve(values.serve, Number(values.port), Number(values['upstream-port']));
  else throw new Error('--serve is undici, raw or net');
} else {
  process.exitCode = await bench(Number(values.duration), Number(values.rounds), Number(values.connections));
}
