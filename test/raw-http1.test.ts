// The raw HTTP/1.1 upstream client against real sockets: a scripted server writes answers byte by byte or in odd
// splits, counts connections, closes or holds sockets; the dispatcher must deliver what undici would, reuse sockets
// only after whole answers, and turn every misbehaviour into an error with undici's code, never a crash.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { buildModelGroups, type Deployment } from '../core/config/models.ts';
import { RawHttp1Dispatcher } from '../core/proxy/raw-http1.ts';
import { Agent, Pool } from '../core/proxy/undici.ts';
import { mapUpstreamError, Upstreams, type UpstreamOptions } from '../core/proxy/pools.ts';
import { settles, sleep, until } from './helpers.ts';

interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  /** The head as sent, lines joined by CRLF. */
  readonly head: string;
  readonly body: Buffer;
  /** 1-based index of the connection it came on. */
  readonly connection: number;
}

type Respond = (req: ReceivedRequest, socket: Socket) => void;

interface Scripted {
  readonly origin: string;
  readonly requests: ReceivedRequest[];
  /** Connections accepted, and those the client closed (or that ended). */
  connections: number;
  closed: number;
  respond: Respond;
  close(): Promise<void>;
}

const servers: Server[] = [];
after(async () => {
  for (const server of servers) await new Promise<void>((r) => server.close(() => r()));
});

/** A TCP server reading HTTP/1.1 requests (Content-Length bodies) and answering each with `respond`. */
async function scripted(respond: Respond): Promise<Scripted> {
  const sockets = new Set<Socket>();
  const state: Scripted = {
    origin: '',
    requests: [],
    connections: 0,
    closed: 0,
    respond,
    close: async () => {
      for (const s of sockets) s.destroy();
    },
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const index = ++state.connections;
    let buffer = Buffer.alloc(0);
    socket.on('close', () => {
      sockets.delete(socket);
      state.closed++;
    });
    socket.on('error', () => {});
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const [method, path] = head.split(' ') as [string, string];
        const req: ReceivedRequest = { method, path, head, body: buffer.subarray(end + 4, end + 4 + length), connection: index };
        buffer = buffer.subarray(end + 4 + length);
        state.requests.push(req);
        state.respond(req, socket);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(state, { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

/** Writes `pieces` one by one, each in its own segment (no Nagle, a turn of the event loop in between). */
async function dribble(socket: Socket, pieces: readonly (string | Buffer)[]): Promise<void> {
  for (const piece of pieces) {
    if (socket.destroyed) return;
    socket.write(piece);
    await sleep(1);
  }
}

const bytewise = (text: string): Buffer[] => [...Buffer.from(text)].map((b) => Buffer.of(b));

const OPTIONS: UpstreamOptions = { timeouts: { connect: 5000, firstByte: 60_000, idle: 60_000, total: 0 }, keepAliveMs: 60_000, connectionsPerOrigin: null };

interface Outcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  trailers: Record<string, string | string[] | undefined>;
  error: (Error & { code?: string }) | null;
  /** Every callback, in order, so a test can check nothing came after the end or an error. */
  events: string[];
}

/** Dispatches one request and resolves with what the handler saw, once the answer ended or failed. */
function request(
  dispatcher: Pick<Dispatcher, 'dispatch'> | RawHttp1Dispatcher,
  options: Partial<Dispatcher.DispatchOptions> = {},
  hooks: { onStart?: (c: Dispatcher.DispatchController) => void; onData?: (c: Dispatcher.DispatchController, chunk: Buffer) => void } = {},
): { done: Promise<Outcome>; outcome: Outcome } {
  const outcome: Outcome = { status: 0, headers: {}, body: '', trailers: {}, error: null, events: [] };
  const chunks: Buffer[] = [];
  const done = new Promise<Outcome>((resolve) => {
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {
        outcome.events.push('start');
      },
      onResponseStart(controller, status, headers) {
        outcome.events.push(`head ${status}`);
        outcome.status = status;
        outcome.headers = headers;
        hooks.onStart?.(controller);
      },
      onResponseData(controller, chunk) {
        outcome.events.push('data');
        chunks.push(Buffer.from(chunk));
        hooks.onData?.(controller, chunk);
      },
      onResponseEnd(_controller, trailers) {
        outcome.events.push('end');
        outcome.trailers = trailers;
        outcome.body = Buffer.concat(chunks).toString();
        resolve(outcome);
      },
      onResponseError(_controller, error) {
        outcome.events.push('error');
        outcome.error = error;
        outcome.body = Buffer.concat(chunks).toString();
        resolve(outcome);
      },
    };
    dispatcher.dispatch({ path: '/v1/chat/completions', method: 'POST', headers: ['content-type', 'application/json'], body: '{"a":1}', ...options }, handler);
  });
  return { done, outcome };
}

/** The first deployment of each model group in `entries`. */
function deployments(entries: Parameters<typeof buildModelGroups>[0]): Deployment[] {
  return [...buildModelGroups(entries).groups.values()].map((g) => g.deployments[0]!);
}

const deployment = deployments([{ model_name: 'm', litellm_params: { model: 'openai/m', api_base: 'http://127.0.0.1:1' } }])[0]!;
const sluiceCode = (error: Error | null): string => mapUpstreamError(error, deployment).code;

describe('framing', () => {
  test('a Content-Length answer fed one byte at a time arrives whole, headers lower-cased, duplicates as arrays', async () => {
    const body = '{"ok":true,"text":"héllo"}';
    const answer = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Dup: a\r\nX-Dup: b\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const server = await scripted((_req, socket) => void dribble(socket, bytewise(answer)));
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const out = await request(pool).done;
    assert.equal(out.error, null);
    assert.equal(out.status, 200);
    assert.equal(out.headers['content-type'], 'application/json');
    assert.deepEqual(out.headers['x-dup'], ['a', 'b']);
    assert.equal(out.body, body);
    assert.equal(out.events.at(-1), 'end');
    // The request went as one head + body, with the length computed and the host set.
    const sent = server.requests[0]!;
    assert.equal(sent.body.toString(), '{"a":1}');
    assert.match(sent.head, /\r\nhost: 127\.0\.0\.1:\d+\r\n/);
    assert.match(sent.head, /\r\ncontent-length: 7(\r\n|$)/);
    await pool.close();
  });

  test('a header named __proto__ stays a header, not the prototype of the headers object', async () => {
    const server = await scripted((_req, socket) => void socket.write('HTTP/1.1 200 OK\r\n__proto__: x\r\nContent-Length: 0\r\n\r\n'));
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const out = await request(pool).done;
    assert.equal(out.error, null);
    assert.equal(Object.getPrototypeOf(out.headers), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(out.headers, '__proto__')?.value, 'x');
    await pool.close();
  });

  test('a chunked answer split inside chunk-size lines and between CR and LF is decoded, trailers included', async () => {
    const pieces = [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r',
      '\n',
      '1',
      '0\r',
      '\nabcdefghijklmnop',
      '\r',
      '\n5;ext=1\r\n12',
      '345\r\n0',
      '\r\nX-Trailer: t\r\n',
      '\r\n',
    ];
    const server = await scripted((_req, socket) => void dribble(socket, pieces));
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const out = await request(pool).done;
    assert.equal(out.error, null);
    assert.equal(out.body, 'abcdefghijklmnop12345');
    assert.equal(out.trailers['x-trailer'], 't');
    // And the same answer one byte at a time.
    server.respond = (_req, socket) => void dribble(socket, bytewise(pieces.join('')));
    const again = await request(pool).done;
    assert.equal(again.body, 'abcdefghijklmnop12345');
    assert.equal(server.connections, 1, 'a whole chunked answer leaves the socket reusable');
    await pool.close();
  });

  test('an answer without length runs until the server closes, and that socket is not reused', async () => {
    const server = await scripted((_req, socket) => {
      void dribble(socket, ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'part one, ', 'part two']).then(() => socket.end());
    });
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const first = await request(pool).done;
    assert.equal(first.error, null);
    assert.equal(first.body, 'part one, part two');
    const second = await request(pool).done;
    assert.equal(second.body, 'part one, part two');
    assert.equal(server.connections, 2);
    await pool.close();
  });

  test('HEAD, 204 and 304 have no body even with a Content-Length; a 100 Continue before the answer is skipped', async () => {
    const server = await scripted((req, socket) => {
      if (req.method === 'HEAD') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n');
      else if (req.path === '/204') socket.write('HTTP/1.1 204 No Content\r\n\r\n');
      else if (req.path === '/304') socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n');
      else void dribble(socket, ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi']);
    });
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const head = await request(pool, { method: 'HEAD', body: null }).done;
    assert.deepEqual([head.status, head.body, head.error], [200, '', null]);
    const noContent = await request(pool, { path: '/204' }).done;
    assert.deepEqual([noContent.status, noContent.body], [204, '']);
    const notModified = await request(pool, { path: '/304', method: 'GET', body: null }).done;
    assert.deepEqual([notModified.status, notModified.body], [304, '']);
    const continued = await request(pool).done;
    assert.deepEqual(continued.events, ['start', 'head 200', 'data', 'end']);
    assert.equal(continued.body, 'hi');
    assert.equal(server.connections, 1, 'every one of these left the socket reusable');
    await pool.close();
  });
});

describe('keep-alive', () => {
  const ok = (_req: ReceivedRequest, socket: Socket): void => void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');

  test('sequential requests share one socket; parallel ones open at most connectionsPerOrigin, the rest wait', async () => {
    const server = await scripted(ok);
    const pool = new RawHttp1Dispatcher(server.origin, { ...OPTIONS, connectionsPerOrigin: 2 });
    for (let i = 0; i < 5; i++) assert.equal((await request(pool).done).body, 'ok');
    assert.equal(server.connections, 1);
    const all = await Promise.all(Array.from({ length: 8 }, () => request(pool).done));
    assert.ok(all.every((o) => o.body === 'ok' && o.error === null));
    assert.equal(server.connections, 2);
    assert.equal(server.requests.length, 13);
    await pool.close();
  });

  test('Connection: close (or HTTP/1.0 without keep-alive) is honoured: the next request opens a new socket', async () => {
    const server = await scripted((req, socket) => {
      if (req.path === '/close') socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      else socket.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    assert.equal((await request(pool, { path: '/close' }).done).body, 'ok');
    assert.equal((await request(pool, { path: '/close' }).done).body, 'ok');
    assert.equal((await request(pool, { path: '/old' }).done).body, 'ok');
    assert.equal((await request(pool, { path: '/old' }).done).body, 'ok');
    assert.equal(server.connections, 4);
    await until('the client closed every socket', () => pool.openSockets === 0);
    await pool.close();
  });

  test('an idle socket the server closes is dropped, and one past keepAliveMs is closed by the pool', async () => {
    const server = await scripted(ok);
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    assert.equal((await request(pool).done).body, 'ok');
    await server.close();
    await until('the pool saw the close', () => pool.openSockets === 0);
    assert.equal((await request(pool).done).body, 'ok');
    assert.equal(server.connections, 2);
    await pool.close();

    await until('the server saw both sockets close', () => server.closed === 2);
    const closedBefore = server.closed;
    const short = new RawHttp1Dispatcher(server.origin, { ...OPTIONS, keepAliveMs: 1 });
    assert.equal((await request(short).done).body, 'ok');
    await until('the idle socket was closed by the client', () => short.openSockets === 0 && server.closed === closedBefore + 1);
    await short.close();
  });

  test('idle sockets do not hold the process open (as undici): a process whose request ended exits on its own', async () => {
    const server = await scripted(ok);
    const script = [
      `import { RawHttp1Dispatcher } from ${JSON.stringify(new URL('../core/proxy/raw-http1.ts', import.meta.url).href)};`,
      `const pool = new RawHttp1Dispatcher(${JSON.stringify(server.origin)}, { timeouts: { connect: 5000, firstByte: 60000, idle: 60000, total: 0 }, keepAliveMs: 600000, connectionsPerOrigin: null });`,
      `pool.dispatch({ path: '/', method: 'GET' }, { onResponseEnd: () => console.log('answered, ' + pool.openSockets + ' socket open'), onResponseError: (_c, e) => console.log('failed', e.message) });`,
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const code = await settles('the child exits by itself', new Promise<number | null>((r) => child.once('exit', r)));
    assert.equal(output.trim(), 'answered, 1 socket open');
    assert.equal(code, 0);
  });

  test("a server's Keep-Alive: timeout=1 leaves no time to reuse the socket: it is closed after the answer", async () => {
    const server = await scripted((_req, socket) => void socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok'));
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    assert.equal((await request(pool).done).body, 'ok');
    assert.equal((await request(pool).done).body, 'ok');
    assert.equal(server.connections, 2);
    await pool.close();
  });
});

describe('failures', () => {
  test('the server closing mid-body is an error to the handler (a reset), after the bytes that came', async () => {
    const server = await scripted((_req, socket) => {
      void dribble(socket, ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', 'only this']).then(() => socket.end());
    });
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const out = await request(pool).done;
    assert.equal(out.body, 'only this');
    assert.equal(out.error?.code, 'UND_ERR_SOCKET');
    assert.equal(sluiceCode(out.error), 'SLUICE_UPSTREAM_RESET');
    assert.equal(out.events.at(-1), 'error');
    assert.equal(out.events.filter((e) => e === 'error' || e === 'end').length, 1);
    // Same mid-chunked-body.
    server.respond = (_req, socket) => void dribble(socket, ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '5\r\nab']).then(() => socket.end());
    const chunked = await request(pool).done;
    assert.equal(chunked.error?.code, 'UND_ERR_SOCKET');
    await pool.close();
  });

  test('a refused connection is unreachable; a request before any byte of answer fails retryably', async () => {
    // A port that was just free and is closed again: nothing listens there.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const pool = new RawHttp1Dispatcher(`http://127.0.0.1:${port}`, OPTIONS);
    const out = await request(pool).done;
    assert.equal(out.error?.code, 'ECONNREFUSED');
    assert.equal(sluiceCode(out.error), 'SLUICE_UPSTREAM_UNREACHABLE');
    assert.deepEqual(out.events, ['start', 'error']);
    await pool.close();
  });

  for (const [name, answer, code] of [
    ['a malformed status line', 'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a status line of another protocol', 'ICY 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['a chunk size too big to be true', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['chunk data without its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n', 'HPE_STRICT'],
    ['a duplicate Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['conflicting Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok', 'HPE_INVALID_CONTENT_LENGTH'],
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a bare LF inside the head', 'HTTP/1.1 200 OK\r\nX-A: one\nX-B: two\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a header section over 64 KB', `HTTP/1.1 200 OK\r\n${'X-Big: ' + 'a'.repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n`, 'HPE_HEADER_OVERFLOW'],
    ['a header section over 64 KB that never ends', `HTTP/1.1 200 OK\r\n${'X-Big: a\r\n'.repeat(8000)}`, 'HPE_HEADER_OVERFLOW'],
    ['a 101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', 'HPE_UNEXPECTED_UPGRADE'],
  ] as const) {
    test(`${name} is a bad upstream response (${code}); the pool keeps serving`, async () => {
      const server = await scripted((req, socket) => {
        if (req.path === '/good') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else void dribble(socket, [answer]);
      });
      const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
      const out = await request(pool).done;
      assert.equal(out.error?.code, code, out.error?.message);
      assert.equal(sluiceCode(out.error), 'SLUICE_UPSTREAM_BAD_RESPONSE');
      assert.equal(out.events.filter((e) => e === 'error' || e === 'end').length, 1);
      await until('the bad socket was closed', () => server.closed === 1);
      assert.equal((await request(pool, { path: '/good' }).done).body, 'ok');
      await pool.close();
    });
  }

  test('header values that would split the request are refused before anything is sent', async () => {
    const server = await scripted(() => {});
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const out = await request(pool, { headers: ['x-evil', 'a\r\nx-injected: 1'] }).done;
    assert.equal(out.error?.code, 'UND_ERR_INVALID_ARG');
    // Written as latin1, U+010D U+010A would leave as CR LF: characters above U+00FF are refused too.
    const wide = await request(pool, { headers: ['x-evil', 'a\u010d\u010ax-injected: 1'] }).done;
    assert.equal(wide.error?.code, 'UND_ERR_INVALID_ARG');
    const widePath = await request(pool, { path: '/a\u010d\u010aHost: evil' }).done;
    assert.equal(widePath.error?.code, 'UND_ERR_INVALID_ARG');
    const badPath = await request(pool, { path: '/a b' }).done;
    assert.equal(badPath.error?.code, 'UND_ERR_INVALID_ARG');
    assert.equal(server.connections, 0);
    await pool.close();
  });
});

describe('abort, pause and timeouts', () => {
  test("the handler's abort destroys the socket at once, reports once, and the next request gets a fresh socket", async () => {
    const server = await scripted((req, socket) => {
      if (req.path === '/good') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      // Head and a first chunk, then held open: only the client can end this.
      else socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n');
    });
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const reason = new Error('client went away');
    const aborted = request(pool, {}, { onData: (controller) => controller.abort(reason) });
    const out = await aborted.done;
    assert.equal(out.error, reason);
    assert.deepEqual(out.events, ['start', 'head 200', 'data', 'error']);
    await until('the server saw the socket close', () => server.closed === 1);
    assert.equal((await request(pool, { path: '/good' }).done).body, 'ok');
    assert.equal(server.connections, 2);
    await pool.close();
  });

  test('a request aborted while it waits for a socket is never sent', async () => {
    let hold: Socket | null = null;
    const server = await scripted((req, socket) => {
      if (req.path === '/hold') hold = socket;
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const pool = new RawHttp1Dispatcher(server.origin, { ...OPTIONS, connectionsPerOrigin: 1 });
    const held = request(pool, { path: '/hold' });
    await until('the first request reached the server', () => hold !== null);
    // Queued behind /hold (one socket allowed), then aborted through the controller onRequestStart gave.
    let queued: Dispatcher.DispatchController | null = null;
    const errors: Error[] = [];
    pool.dispatch({ path: '/aborted', method: 'GET' }, { onRequestStart: (c) => void (queued = c), onResponseError: (_c, e) => void errors.push(e) });
    const after = request(pool, { path: '/after' });
    (queued as Dispatcher.DispatchController | null)!.abort(new Error('gone'));
    assert.deepEqual(errors.map((e) => e.message), ['gone']);
    (hold as Socket | null)!.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    assert.equal((await held.done).body, 'ok');
    assert.equal((await after.done).body, 'ok');
    assert.deepEqual(
      server.requests.map((r) => r.path),
      ['/hold', '/after'],
    );
    assert.equal(server.connections, 1);
    await pool.close();
  });

  test('pause stops delivery until resume; everything arrives after', async () => {
    const body = 'x'.repeat(300_000);
    const server = await scripted((_req, socket) => void socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    let controller: Dispatcher.DispatchController | null = null;
    const out = request(pool, {}, { onData: (c) => void (controller ??= (c.pause(), c)) });
    await until('the first chunk arrived', () => controller !== null);
    const seen = out.outcome.events.length;
    // Several turns of the event loop with the socket's data waiting: nothing more may reach the handler.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(out.outcome.events.length, seen);
    assert.equal(controller!.paused, true);
    controller!.resume();
    const done = await out.done;
    assert.equal(done.body.length, body.length);
    assert.equal(done.error, null);
    await pool.close();
  });

  test('a socket whose last answer ended while paused (no body) reads the next answer', async () => {
    const server = await scripted((req, socket) => {
      if (req.path === '/empty') socket.write('HTTP/1.1 204 No Content\r\n\r\n');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const empty = await request(pool, { path: '/empty' }, { onStart: (c) => c.pause() }).done;
    assert.equal(empty.status, 204);
    assert.equal((await request(pool).done).body, 'ok');
    assert.equal(server.connections, 1);
    await pool.close();
  });

  test('an answer that ends while its handler is paused leaves its socket reading in the pool: stray bytes drop it', async () => {
    let serverSide: Socket | null = null;
    const server = await scripted((_req, socket) => {
      serverSide = socket;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const out = await request(pool, {}, { onData: (c) => c.pause() }).done;
    assert.equal(out.body, 'ok');
    assert.equal(pool.openSockets, 1);
    // An answer nobody asked for, on the idle socket: read now, it condemns the socket; left unread, it would be
    // taken for the next request's answer.
    serverSide!.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale');
    await until('the pool dropped the socket that spoke out of turn', () => pool.openSockets === 0);
    assert.equal((await request(pool).done).body, 'ok');
    assert.equal(server.connections, 2);
    await pool.close();
  });

  test('a handler paused longer than bodyTimeout is not a timeout: the server was not silent, the client was', async () => {
    const body = 'y'.repeat(300_000);
    const server = await scripted((_req, socket) => void socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
    const pool = new RawHttp1Dispatcher(server.origin, { ...OPTIONS, timeouts: { ...OPTIONS.timeouts, idle: 20 } });
    let controller: Dispatcher.DispatchController | null = null;
    const out = request(pool, {}, { onData: (c) => void (controller ??= (c.pause(), c)) });
    await until('the first chunk arrived', () => controller !== null);
    // Ten idle timeouts' worth of pause: a deadline that counted it would have failed the request by now.
    await sleep(200);
    assert.equal(out.outcome.error, null);
    controller!.resume();
    const done = await out.done;
    assert.equal(done.error, null);
    assert.equal(done.body.length, body.length);
    await pool.close();
  });

  test('a server that closes in the middle of a chunk-size line fails the request, paused or not, instead of leaving it waiting', async () => {
    const cut = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1';
    const server = await scripted((_req, socket) => void socket.end(cut));
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const straight = await request(pool).done;
    assert.equal(straight.body, 'hello');
    assert.equal(straight.error?.code, 'UND_ERR_SOCKET');
    let controller: Dispatcher.DispatchController | null = null;
    const closedBefore = server.closed;
    const paused = request(pool, {}, { onData: (c) => void (controller ??= (c.pause(), c)) });
    await until('the first chunk arrived and the server closed', () => controller !== null && server.closed > closedBefore);
    controller!.resume();
    const done = await paused.done;
    assert.equal(done.body, 'hello');
    assert.equal(done.error?.code, 'UND_ERR_SOCKET');
    await pool.close();
  });

  test('no response head before headersTimeout: a timeout error (held server), mapped as an upstream timeout', async () => {
    const server = await scripted(() => {});
    const pool = new RawHttp1Dispatcher(server.origin, OPTIONS);
    const out = await request(pool, { headersTimeout: 50 }).done;
    assert.equal(out.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
    assert.equal(sluiceCode(out.error), 'SLUICE_UPSTREAM_TIMEOUT');
    await until('the timed-out socket was closed', () => server.closed === 1);
    await pool.close();
  });

  test('silence mid-body longer than bodyTimeout (the idle timeout): a timeout error after the bytes that came', async () => {
    const server = await scripted((_req, socket) => void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const pool = new RawHttp1Dispatcher(server.origin, { ...OPTIONS, timeouts: { ...OPTIONS.timeouts, idle: 50 } });
    const out = await request(pool).done;
    assert.equal(out.body, 'abc');
    assert.equal(out.error?.code, 'UND_ERR_BODY_TIMEOUT');
    assert.equal(sluiceCode(out.error), 'SLUICE_UPSTREAM_TIMEOUT');
    await pool.close();
  });
});

describe('undici, loaded in part', () => {
  test("core/proxy/undici.ts's Pool and Agent make undici's own classes (the internal paths it requires still exist)", async () => {
    const undici = await import('undici');
    // Stand-ins that load undici on first use: what they construct, and instanceof either way, is undici's.
    const pool = new Pool('http://127.0.0.1:9');
    assert.equal(Object.getPrototypeOf(pool), undici.Pool.prototype);
    assert.ok(pool instanceof undici.Pool && pool instanceof Pool);
    assert.equal(Pool.prototype, undici.Pool.prototype);
    const agent = new Agent();
    assert.equal(Object.getPrototypeOf(agent), undici.Agent.prototype);
    assert.ok(agent instanceof undici.Agent && agent instanceof Agent && !(agent instanceof Pool));
    // A subclass (a plugin's own dispatcher) keeps its own prototype on top of undici's.
    class CountingPool extends Pool {}
    const counting = new CountingPool('http://127.0.0.1:9');
    assert.ok(counting instanceof CountingPool && counting instanceof undici.Pool);
    // Called without `new`, as a class would be: a TypeError.
    assert.throws(() => (Pool as unknown as (origin: string) => unknown)('http://127.0.0.1:9'), TypeError);
    await Promise.all([pool.close(), agent.close(), counting.close()]);
  });
});

describe('Upstreams', () => {
  test('plain http:// origins get the raw client; https:// and TLS settings keep undici', () => {
    const upstreams = new Upstreams(OPTIONS);
    const [plain, tls] = deployments([
      { model_name: 'plain', litellm_params: { model: 'openai/m', api_base: 'http://127.0.0.1:9/v1' } },
      { model_name: 'tls', litellm_params: { model: 'openai/m', api_base: 'https://127.0.0.1:9/v1' } },
    ]);
    assert.ok(upstreams.for(plain!) instanceof RawHttp1Dispatcher);
    assert.ok(!(upstreams.for(tls!) instanceof RawHttp1Dispatcher));
    return upstreams.close();
  });
});
