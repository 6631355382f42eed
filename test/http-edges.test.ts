// HTTP edges real client libraries hit: an oversized upload still reads its 413, every response carries a request
// id, compressed request bodies, CORS, and one model's `created`.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import { chat, startGateway, type TestGateway } from './helpers.ts';
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
    const paths = [...infoRoutes({ groups: new Map(), keysChecked: false, state: gw.gateway.state, store: gw.gateway.store }, 0).keys(), '/v1/models/m', '/v1/models/nope'];
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
