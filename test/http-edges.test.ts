// HTTP edges real client libraries hit: an oversized upload still reads its 413, every response carries a request
// id, compressed request bodies, CORS, and one model's `created`.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { brotliCompressSync, createGzip, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { chat, errorOf, post, startGateway, type TestGateway } from './helpers.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';
import { parseConfig } from '../core/config/load.ts';
import { DISCARD_LIMIT } from '../core/http/body.ts';
import { infoRoutes } from '../core/server/info-routes.ts';

/**
 * Sends `head` and `body` the way a client that writes its whole request before reading does (Python's httpx,
 * requests): reading is paused until the last byte is written. Resolves with what the server answered, or with the
 * write error when the connection was reset under the upload.
 */
function uploadThenRead(port: number, head: string, body: Buffer): Promise<{ reply: string; writeError: string | null }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    let reply = '';
    let writeError: string | null = null;
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    socket.on('error', (error: NodeJS.ErrnoException) => (writeError ??= error.code ?? error.message));
    socket.on('close', () => resolve({ reply, writeError }));
    socket.write(head);
    socket.write(body, (error) => {
      if (error) return;
      socket.resume();
      // The server closes after its answer; a client that is done sending closes its side too.
      socket.end();
    });
  });
}

describe('a body over server.body_limit', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway('model_list: [{model_name: m, litellm_params: {model: mock/m}}]');
  });
  after(() => gw.close());

  const big = (mb = 11): Buffer => Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(mb * 1024 * 1024) }] }));

  test('declared in Content-Length: a client that uploads it all before reading still reads the 413', async () => {
    const body = big();
    for (let i = 0; i < 3; i++) {
      const { reply, writeError } = await uploadThenRead(gw.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body);
      assert.equal(writeError, null);
      assert.match(reply, /^HTTP\/1.1 413/);
      assert.match(reply, /"code":"request_too_large"/);
    }
  });

  test('chunked, found over the limit while reading: the client still reads the 413', async () => {
    const body = big(40);
    const chunked = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    const { reply, writeError } = await uploadThenRead(gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', chunked);
    assert.equal(writeError, null);
    assert.match(reply, /^HTTP\/1.1 413/);
  });

  test('a body that goes on and on is read only up to a bound after the 413, then the connection is cut', async () => {
    const socket = connect(gw.port, '127.0.0.1');
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const declared = 1024 ** 3;
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (!socket.destroyed && sent < declared) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    pump();
    await closed;
    assert.match(reply, /^HTTP\/1.1 413/);
    assert.ok(sent >= DISCARD_LIMIT, `sent ${sent}`);
    assert.ok(sent < declared, `sent ${sent}`);
  });

  test('the official openai SDK gets APIError 413, never a connection error, in 10 of 10 tries', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
    const content = 'x'.repeat(11 * 1024 * 1024);
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content }] });
        outcomes.push('ok');
      } catch (error) {
        outcomes.push(error instanceof APIConnectionError ? 'connection error' : error instanceof APIError ? String(error.status) : String(error));
      }
    }
    assert.deepEqual(outcomes, Array(10).fill('413'));
  });
});

describe('x-request-id', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway(`
server: { timeouts: { client_header: 0.5 } }
general_settings: { master_key: sk-master-0000 }
model_list: [{model_name: m, litellm_params: {model: mock/m}}]
`);
  });
  after(() => gw.close());

  const master = { authorization: 'Bearer sk-master-0000' };
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  test('every info route, with and without a key, and its errors carry one: generated, or the client\'s own', async () => {
    const paths = [...infoRoutes({ groups: new Map(), keysChecked: false, state: gw.gateway.state, store: gw.gateway.store, lookup: () => undefined }, 0).keys(), '/v1/models/m', '/v1/models/nope'];
    const seen: string[] = [];
    for (const path of paths) {
      for (const headers of [master, {}]) {
        const res = await fetch(`${gw.url}${path}`, { headers });
        await res.arrayBuffer();
        seen.push(`${path} ${res.status} ${UUID.test(res.headers.get('x-request-id') ?? '') ? 'id' : 'none'}`);
        const own = await fetch(`${gw.url}${path}`, { headers: { ...headers, 'x-request-id': 'mine-1' } });
        await own.arrayBuffer();
        assert.equal(own.headers.get('x-request-id'), 'mine-1', path);
      }
    }
    assert.ok(seen.every((line) => line.endsWith(' id')), seen.join('\n'));
    // Errors among them: 401 without a key, 404 for an unknown model.
    assert.ok(seen.includes('/v1/models 401 id') && seen.includes('/v1/models/nope 404 id'), seen.join('\n'));
    for (const [method, path, status] of [['GET', '/nowhere', 404], ['DELETE', '/v1/models', 405], ['POST', '/v1/chat/completions', 401]] as const) {
      const res = await fetch(`${gw.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: chat('m') } : {}) });
      await res.arrayBuffer();
      assert.equal(res.status, status, path);
      assert.match(res.headers.get('x-request-id') ?? '', UUID, path);
    }
  });

  test("the listener's own 400, 431 and 408 for unreadable requests carry one", async () => {
    const replies = [
      await rawReply(gw.port, 'THIS IS NOT HTTP\r\n\r\n'),
      await rawReply(gw.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      // Headers that never end: the header timeout answers.
      await rawReply(gw.port, 'GET /health HTTP/1.1\r\nHost: x\r\n'),
      // A bad chunked body, on a request already handed to the gateway (the client's id is kept).
      await rawReply(gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Request-Id: chunky\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"mod\r\nZZ\r\n'),
    ];
    assert.deepEqual(replies.map((r) => r.slice(0, 12)), ['HTTP/1.1 400', 'HTTP/1.1 431', 'HTTP/1.1 408', 'HTTP/1.1 400']);
    for (const reply of replies.slice(0, 3)) assert.match(reply, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    assert.match(replies[3]!, /\r\nx-request-id: chunky\r\n/i);
  });
});

/** Writes raw bytes and collects the answer until the server closes the connection. */
function rawReply(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(data));
    socket.write(payload);
  });
}

test('GET /v1/models/{id} reports the same created as the list', async () => {
  const gw = await startGateway('model_list: [{model_name: m, litellm_params: {model: mock/m}}, {model_name: n, litellm_params: {model: mock/n}}]');
  try {
    const list = (await (await fetch(`${gw.url}/v1/models`)).json()) as { data: { id: string; created: number }[] };
    for (const listed of list.data) {
      const one = (await (await fetch(`${gw.url}/v1/models/${listed.id}`)).json()) as { id: string; created: number };
      assert.equal(one.id, listed.id);
      assert.ok(one.created > 0);
      assert.equal(one.created, listed.created);
    }
    assert.equal(list.data.length, 2);
  } finally {
    await gw.close();
  }
});

describe('compressed request bodies', () => {
  let sim: Sim;
  let gw: TestGateway;
  before(async () => {
    sim = await startOpenAISim();
    gw = await startGateway(`
server: { body_limit: 1mb }
model_list:
  - model_name: alias
    litellm_params: { model: openai/upstream-name, api_base: "${sim.url}" }
`);
  });
  after(async () => {
    await gw.close();
    await sim.close();
  });

  const body = chat('alias', { temperature: 0.5 });
  const encoders: Record<string, (raw: Buffer) => Buffer> = {
    gzip: (raw) => gzipSync(raw),
    deflate: (raw) => deflateSync(raw),
    br: (raw) => brotliCompressSync(raw),
    zstd: (raw) => zstdCompressSync(raw),
    'gzip, br': (raw) => brotliCompressSync(gzipSync(raw)),
  };
  for (const [encoding, encode] of Object.entries(encoders)) {
    test(`Content-Encoding: ${encoding} is decoded, and the decoded body goes upstream without the header`, async () => {
      const res = await post(`${gw.url}/v1/chat/completions`, encode(Buffer.from(body)), { 'content-encoding': encoding });
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(sim.stats.lastRequest!.body, body.replace('"alias"', '"upstream-name"'));
      assert.equal(sim.stats.lastRequest!.headers['content-encoding'], undefined);
      assert.equal(sim.stats.lastRequest!.headers['content-length'], String(Buffer.byteLength(sim.stats.lastRequest!.body)));
    });
  }

  test('identity is no encoding at all', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, body, { 'content-encoding': 'identity' });
    assert.equal(res.status, 200);
  });

  test('a decompression bomb is a 413 at the decoded limit; the gateway keeps serving', async () => {
    // 512 MB of zeros, gzipped as it is generated: about half a megabyte on the wire, under the 1 MB limit.
    const bomb = await gzipZeros(512 * 1024 ** 2);
    assert.ok(bomb.length < 1024 ** 2);
    for (const [encoding, data] of [['gzip', bomb], ['zstd', zstdCompressSync(Buffer.alloc(64 * 1024 ** 2))]] as const) {
      const res = await post(`${gw.url}/v1/chat/completions`, data, { 'content-encoding': encoding });
      assert.equal(res.status, 413, encoding);
      assert.equal(errorOf(res).code, 'request_too_large');
    }
    assert.equal((await post(`${gw.url}/v1/chat/completions`, body)).status, 200);
  });

  test('an encoding the gateway cannot decode is a 415, in the caller\u2019s language too', async () => {
    for (const encoding of ['compress', 'gzip, snappy']) {
      const res = await post(`${gw.url}/v1/chat/completions`, body, { 'content-encoding': encoding });
      assert.equal(res.status, 415);
      assert.equal(errorOf(res).code, 'unsupported_content_encoding');
      assert.equal(errorOf(res).type, 'invalid_request_error');
      assert.match(errorOf(res).message, /compress|snappy/);
    }
    const ja = await post(`${gw.url}/v1/chat/completions`, body, { 'content-encoding': 'compress', 'accept-language': 'ja' });
    assert.equal(ja.status, 415);
    assert.equal(ja.headers['content-language'], 'ja');
  });

  test('a body that does not decode is a 400; a compressed body without its header is a 400 that echoes no binary', async () => {
    const broken = await post(`${gw.url}/v1/chat/completions`, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    assert.equal(broken.status, 400);
    assert.equal(errorOf(broken).code, 'invalid_value');
    const unlabelled = await post(`${gw.url}/v1/chat/completions`, gzipSync(Buffer.from(body)));
    assert.equal(unlabelled.status, 400);
    assert.equal(errorOf(unlabelled).code, 'invalid_json');
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(errorOf(unlabelled).message, /[\u0000-\u001f\u007f-\uffff]/);
    assert.match(errorOf(unlabelled).message, /Content-Encoding/);
  });
});

/** `size` zero bytes through gzip, generated as a stream: never held whole. */
async function gzipZeros(size: number): Promise<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024);
  async function* zeros(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
  }
  const out: Buffer[] = [];
  const gzip = createGzip({ level: 9 });
  gzip.on('data', (d: Buffer) => out.push(d));
  await pipeline(Readable.from(zeros()), gzip);
  return Buffer.concat(out);
}

describe('CORS', () => {
  let sim: Sim;
  let gw: TestGateway;
  const origin = 'https://app.example';
  before(async () => {
    sim = await startOpenAISim();
    gw = await startGateway(`
server:
  cors: { origins: ["${origin}"], credentials: true, max_age: 300 }
general_settings: { master_key: sk-master-0000 }
model_list:
  - model_name: alias
    litellm_params: { model: openai/upstream-name, api_base: "${sim.url}" }
`);
  });
  after(async () => {
    await gw.close();
    await sim.close();
  });
  const auth = { authorization: 'Bearer sk-master-0000' };

  test('a preflight from an allowed origin gets 204 with the Access-Control-Allow-* headers, before any key check', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), origin);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, OPTIONS');
    assert.equal(res.headers.get('access-control-allow-headers'), 'authorization, content-type');
    assert.equal(res.headers.get('access-control-max-age'), '300');
    assert.equal(res.headers.get('vary'), 'Origin');
    assert.equal(res.headers.get('content-length'), null);
    assert.ok(res.headers.get('x-request-id'));
  });

  test('a preflight from another origin gets no CORS headers, and neither does its actual request', async () => {
    const other = 'https://evil.example';
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: other, 'access-control-request-method': 'POST' } });
    assert.equal(res.status, 204);
    assert.deepEqual([...res.headers.keys()].filter((name) => name.startsWith('access-control-')), []);
    const actual = await post(`${gw.url}/v1/chat/completions`, chat('alias'), { ...auth, origin: other });
    assert.equal(actual.status, 200);
    assert.equal(actual.headers['access-control-allow-origin'], undefined);
  });

  test('proxied JSON and SSE responses, local replies and errors carry Access-Control-Allow-Origin', async () => {
    const json = await post(`${gw.url}/v1/chat/completions`, chat('alias'), { ...auth, origin });
    const stream = await post(`${gw.url}/v1/chat/completions`, chat('alias', { stream: true }), { ...auth, origin });
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    const models = await fetch(`${gw.url}/v1/models`, { headers: { ...auth, origin } });
    const unauthorized = await fetch(`${gw.url}/v1/models`, { headers: { origin } });
    const missing = await fetch(`${gw.url}/nowhere`, { headers: { origin } });
    assert.deepEqual([json.status, stream.status, models.status, unauthorized.status, missing.status], [200, 200, 200, 401, 404]);
    for (const headers of [json.headers, stream.headers, Object.fromEntries(models.headers), Object.fromEntries(unauthorized.headers), Object.fromEntries(missing.headers)]) {
      assert.equal(headers['access-control-allow-origin'], origin);
      assert.equal(headers['access-control-allow-credentials'], 'true');
      assert.match(String(headers['vary']), /Origin/);
      assert.match(String(headers['access-control-expose-headers']), /x-request-id/);
    }
  });

  test('origins "*" answers * without credentials', async () => {
    const star = await startGateway(`
server: { cors: { origins: "*" } }
model_list: [{model_name: m, litellm_params: {model: mock/m}}]
`);
    try {
      const preflight = await fetch(`${star.url}/v1/models`, { method: 'OPTIONS', headers: { origin: 'https://any.example', 'access-control-request-method': 'GET' } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
      assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
      const res = await post(`${star.url}/v1/chat/completions`, chat('m', { stream: true }), { origin: 'https://any.example' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], '*');
    } finally {
      await star.close();
    }
  });

  test('off by default: OPTIONS is a 405, and responses carry no CORS headers', async () => {
    const plain = await startGateway('model_list: [{model_name: m, litellm_params: {model: mock/m}}]');
    try {
      const preflight = await fetch(`${plain.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      assert.equal(preflight.status, 405);
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      const res = await post(`${plain.url}/v1/chat/completions`, chat('m'), { origin });
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    } finally {
      await plain.close();
    }
  });

  test('the schema refuses unknown keys and a missing origins list', () => {
    assert.throws(() => parseConfig('server: { cors: { origins: "*", allow_all: true } }\nmodel_list: []', '/tmp/x.yaml', {}), /cors/);
    assert.throws(() => parseConfig('server: { cors: { credentials: true } }\nmodel_list: []', '/tmp/x.yaml', {}), /origins/);
  });
});

test("with CORS on, a backend's own Access-Control-* headers give way to the gateway's, and its Vary is kept", async () => {
  const backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [] });
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', vary: 'Accept-Encoding', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const gw = await startGateway(`
server: { cors: { origins: [https://app.example] } }
model_list: [{model_name: m, litellm_params: {model: openai/m, api_base: "http://127.0.0.1:${(backend.address() as AddressInfo).port}"}}]
`);
  try {
    const allowed = await post(`${gw.url}/v1/chat/completions`, chat('m'), { origin: 'https://app.example' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(allowed.headers['vary'], 'Accept-Encoding, Origin');
    const other = await post(`${gw.url}/v1/chat/completions`, chat('m'), { origin: 'https://evil.example' });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  } finally {
    await gw.close();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  }
});
