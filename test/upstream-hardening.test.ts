// A backend that misbehaves (endless events, huge bodies, echoed credentials, compressed or hop-by-hop framing)
// neither stalls the gateway, nor grows its memory, nor leaks through it.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { UsageTail } from '../core/providers/openai.ts';
import { buildModelGroups } from '../core/config/models.ts';
import { chat, closedAfterFile, errorOf, json, post, type RawResponse } from './helpers.ts';

const { sim, gateway, track } = closedAfterFile();

async function listening(server: Server | ReturnType<typeof createNetServer>): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  track({ close: () => new Promise<void>((r) => server.close(() => r())) });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const KEY = 'sk-limited-0123456789';
const auth = { authorization: `Bearer ${KEY}` };

describe('stream events', () => {
  test('an event that never ends is cut at 1 MB with an error event and the upstream aborted; the gateway keeps serving', async () => {
    let upstreamClosedEarly = false;
    const backend = createServer((req, res) => {
      req.resume();
      if (req.method !== 'POST') return void res.end();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"choices":[{"index":0,"delta":{"content":"first"}}]}\n\n');
        // 64 KB at a time, never a blank line, up to 8 MB.
        const piece = 'x'.repeat(64 * 1024);
        let left = 128;
        res.on('close', () => (upstreamClosedEarly = left > 0));
        res.write('data: ');
        const pump = (): void => {
          while (left > 0 && !res.destroyed) {
            left--;
            if (!res.write(piece)) return void res.once('drain', pump);
          }
          res.end('\n\n');
        };
        pump();
      });
    });
    const endless = await listening(backend);
    const normal = await sim();
    const gw = await gateway(`
router_settings: { num_retries: 0 }
plugins:
  - route.round_robin
  - path: ./plugins/examples/token-cap/index.ts
    options: { max_tokens: 100000, fill_in: false }
model_list:
  - model_name: endless
    litellm_params: { model: openai/m, api_base: "${endless}" }
  - model_name: normal
    litellm_params: { model: openai/sim-model, api_base: "${normal.url}/v1" }
`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('endless', { stream: true }));
    assert.equal(res.status, 200);
    assert.ok(res.body.length < 64 * 1024, 'no byte of the oversized event reached the client');
    const events = res.body.toString().split('\n\n').filter((e) => e !== '');
    assert.equal(events.length, 2, 'the first event, then the error event');
    assert.match(events[0]!, /"first"/);
    const error = JSON.parse(events[1]!.slice('data: '.length)) as { error: { code: string; type: string } };
    assert.equal(error.error.code, 'upstream_bad_response');
    assert.equal(error.error.type, 'api_error');
    // The backend's connection is closed before it could send everything.
    for (let i = 0; i < 100 && !upstreamClosedEarly; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(upstreamClosedEarly, true);
    const next = await post(`${gw.url}/v1/chat/completions`, chat('normal', { stream: true }));
    assert.equal(next.status, 200);
    assert.match(next.body.toString(), /data: \[DONE\]/);
  });
});

describe('usage of JSON answers', () => {
  test('a 50 MB answer with a tpm key passes through whole, is held only as a bounded tail, and its usage counts', async () => {
    // prompt 3 + 57 completion tokens = 60 a request; 100 a minute allow two.
    const backend = await sim({ tokens: 57, padBytes: 50 * 1024 * 1024 });
    const gw = await gateway(`
keys: [{ key: ${KEY}, alias: k, tpm: 100 }]
model_list: [{ model_name: m, litellm_params: { model: openai/sim-model, api_base: "${backend.url}/v1" } }]`);
    UsageTail.peakHeldBytes = 0;
    const first = await post(`${gw.url}/v1/chat/completions`, chat('m'), auth);
    assert.equal(first.status, 200);
    assert.ok(first.body.length > 50 * 1024 * 1024);
    assert.deepEqual((json(first)['usage'] as { total_tokens: number }).total_tokens, 60);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'), auth)).status, 200);
    const third = await post(`${gw.url}/v1/chat/completions`, chat('m'), auth);
    assert.equal(third.status, 429);
    assert.match(errorOf(third).message, /Token limit/);
    assert.ok(UsageTail.peakHeldBytes > 0 && UsageTail.peakHeldBytes <= 128 * 1024, `held ${UsageTail.peakHeldBytes} bytes`);
  });

  test('the tail finds usage wherever the chunks end, and ignores a "usage" inside a string', () => {
    // Usage before the answer here, and the answer quoting a usage object after it.
    const body = Buffer.from(
      JSON.stringify(
        {
          id: 'x',
          padding: 'p'.repeat(200_000),
          usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12, details: { a: '}"' } },
          choices: [{ message: { content: 'quoted: {"usage": {"total_tokens": 1}}' } }],
        },
        null,
        1,
      ),
    );
    for (const size of [1, 1000, 65_536, 70_000, body.length]) {
      const tail = new UsageTail();
      for (let at = 0; at < body.length; at += size) tail.push(body.subarray(at, at + size));
      assert.equal(tail.read()?.totalTokens, 12, `chunks of ${size}`);
    }
  });
});

describe('compressed answers', () => {
  test('tpm counts gzip-capable clients too: the gateway asks the backend for plain bytes when it reads usage', async () => {
    const backend = await sim({ tokens: 57, gzip: true });
    // The simulator does gzip when asked.
    const direct = await post(`${backend.url}/v1/chat/completions`, chat('sim-model'), { 'accept-encoding': 'gzip' });
    assert.equal(direct.headers['content-encoding'], 'gzip');
    const clients: Record<string, string>[] = [{ 'accept-encoding': 'gzip' }, {}];
    for (const client of clients) {
      const gw = await gateway(`
keys: [{ key: ${KEY}, alias: k, tpm: 100 }]
model_list: [{ model_name: m, litellm_params: { model: openai/sim-model, api_base: "${backend.url}/v1" } }]`);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await post(`${gw.url}/v1/chat/completions`, chat('m'), { ...auth, ...client });
        statuses.push(res.status);
        if (res.status === 200) assert.equal(json(res)['object'], 'chat.completion');
      }
      assert.deepEqual(statuses, [200, 200, 429, 429], JSON.stringify(client));
      assert.equal(backend.stats.lastRequest?.headers['accept-encoding'], 'identity');
    }
  });
});

describe('backend error bodies', () => {
  test("a backend 401 that echoes the Authorization header does not show the deployment's api_key", async () => {
    const backend = await sim({ status: 401, echoAuthorization: true });
    const gw = await gateway(`
model_list:
  - model_name: m
    litellm_params: { model: openai/sim-model, api_base: "${backend.url}/v1", api_key: sk-backend-secret-4242 }
`);
    const direct = await post(`${backend.url}/v1/chat/completions`, chat('sim-model'), { authorization: 'Bearer sk-backend-secret-4242' });
    assert.match(direct.body.toString(), /sk-backend-secret-4242/, 'the simulator echoes the header');
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'));
    assert.equal(res.status, 401);
    const text = res.body.toString();
    assert.doesNotMatch(text, /sk-backend-secret-4242/);
    assert.match(errorOf(res).message, /Authorization: Bearer \*\*\*\)/);
    assert.equal(Number(res.headers['content-length']), res.body.length);
  });

  test('a compressed error body is decoded and masked too', async () => {
    const backend = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = gzipSync(JSON.stringify({ error: { message: `bad key ${String(req.headers.authorization)}`, type: 'invalid_request_error' } }));
        res.writeHead(401, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length });
        res.end(body);
      });
    });
    const url = await listening(backend);
    const gw = await gateway(`
model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_base: "${url}", api_key: sk-backend-secret-4242 }
`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'), { 'accept-encoding': 'gzip' });
    assert.equal(res.status, 401);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(errorOf(res).message, 'bad key Bearer ***');
  });

  test("a deployment's secrets are its api_key, other credential fields, extra_headers values and the api_base password", () => {
    const { groups } = buildModelGroups([
      {
        model_name: 'm',
        litellm_params: {
          model: 'openai/m',
          api_base: 'http://user:pa%24%24word-1234@127.0.0.1:9',
          api_key: 'sk-backend-secret-4242',
          aws_secret_access_key: 'aws-secret-0000',
          extra_headers: { 'x-tenant-token': 'tenant-token-1111' },
          max_tokens: 100,
          api_version: '2024-01-01',
        },
      },
    ]);
    const secrets = groups.get('m')!.deployments[0]!.secrets;
    for (const secret of ['sk-backend-secret-4242', 'aws-secret-0000', 'tenant-token-1111', 'pa%24%24word-1234', 'pa$$word-1234']) {
      assert.ok(secrets.includes(secret), secret);
    }
    assert.ok(!secrets.includes('2024-01-01'));
  });
});

/** A backend speaking raw HTTP/1.1: every request gets `response` and the connection is closed. */
async function rawBackend(response: Buffer): Promise<string> {
  const server = createNetServer((socket: Socket) => {
    let head = '';
    socket.on('data', (data: Buffer) => {
      head += data.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (head.length - end - 4 < length) return;
      socket.end(response);
    });
    socket.on('error', () => undefined);
  });
  return listening(server);
}

describe('hop-by-hop headers', () => {
  test('a header the backend names in Connection does not reach the client', async () => {
    const body = '{"id":"x","object":"chat.completion","choices":[]}';
    const url = await rawBackend(
      Buffer.from(
        'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close, X-Hop-Secret\r\nX-Hop-Secret: internal\r\n' +
          `X-Kept: yes\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
    );
    const gw = await gateway(`
model_list: [{ model_name: m, litellm_params: { model: openai/m, api_base: "${url}" } }]`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-hop-secret'], undefined);
    assert.equal(res.headers['x-kept'], 'yes');
    assert.equal(res.body.toString(), body);
  });

  test('Transfer-Encoding: gzip, chunked from a backend is refused with a 502, never passed on as bare gzip', async () => {
    const gz = gzipSync('{"id":"x","object":"chat.completion","choices":[]}');
    const url = await rawBackend(
      Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${gz.length.toString(16)}\r\n`),
        gz,
        Buffer.from('\r\n0\r\n\r\n'),
      ]),
    );
    const gw = await gateway(`
router_settings: { num_retries: 0 }
model_list: [{ model_name: m, litellm_params: { model: openai/m, api_base: "${url}" } }]`);
    const res: RawResponse = await post(`${gw.url}/v1/chat/completions`, chat('m'));
    assert.equal(res.status, 502);
    assert.equal(errorOf(res).code, 'upstream_bad_response');
  });
});
