// Bad input gets an OpenAI-shaped error with the right status, and the process keeps serving.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { chat, errorOf, post, sleep, startGateway, until, type TestGateway } from './helpers.ts';
import { startOpenAISim } from './sim/openai-sim.ts';
import { MAX_JSON_DEPTH, replaceModel } from '../core/http/body.ts';

describe('bad input', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startGateway(`
server:
  body_limit: 4kb
  timeouts: { client_body: 0.3 }
model_list:
  - model_name: mock
    litellm_params: { model: mock/mock }
`);
  });
  after(() => gw.close());

  const cases: [string, string, number, string | null, string][] = [
    ['malformed JSON', '{"model": "mock", "messages": [', 400, null, 'invalid_json'],
    ['a JSON array', '[1,2]', 400, null, 'invalid_json'],
    ['an empty body', '', 400, null, 'invalid_json'],
    ['no model', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), 400, 'model', 'missing_required_parameter'],
    ['a numeric model', JSON.stringify({ model: 7, messages: [{ role: 'user', content: 'x' }] }), 400, 'model', 'invalid_value'],
    ['no messages', JSON.stringify({ model: 'mock' }), 400, 'messages', 'missing_required_parameter'],
    ['messages as a string', JSON.stringify({ model: 'mock', messages: 'hi' }), 400, 'messages', 'invalid_value'],
    ['a message without role', JSON.stringify({ model: 'mock', messages: [{ content: 'x' }] }), 400, 'messages[0].role', 'invalid_value'],
    ['stream as a string', JSON.stringify({ model: 'mock', stream: 'yes', messages: [{ role: 'user', content: 'x' }] }), 400, 'stream', 'invalid_value'],
    ['an unknown model', chat('no-such-model'), 404, 'model', 'model_not_found'],
  ];
  for (const [what, body, status, param, code] of cases) {
    test(`chat with ${what} → ${status}${param === null ? '' : ` naming ${param}`}`, async () => {
      const res = await post(`${gw.url}/v1/chat/completions`, body);
      assert.equal(res.status, status);
      const error = errorOf(res);
      assert.equal(error.param, param);
      assert.equal(error.code, code);
      assert.equal(typeof error.message, 'string');
      assert.equal(typeof error.type, 'string');
    });
  }

  test('completions without prompt and embeddings with a wrong input type name the param', async () => {
    const completions = await post(`${gw.url}/v1/completions`, JSON.stringify({ model: 'mock' }));
    assert.equal(completions.status, 400);
    assert.equal(errorOf(completions).param, 'prompt');
    const embeddings = await post(`${gw.url}/v1/embeddings`, JSON.stringify({ model: 'mock', input: 42 }));
    assert.equal(embeddings.status, 400);
    assert.equal(errorOf(embeddings).param, 'input');
  });

  test('a declared body over the limit is refused with 413 before it is sent', async () => {
    // Send only the headers: a 413 that arrives anyway proves the body was never waited for.
    const reply = await rawExchange(gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 413/);
    assert.match(reply, /"code":"request_too_large"/);
  });

  test('a chunked body that grows over the limit is refused with 413', async () => {
    const big = JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x'.repeat(8000) }] });
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const reply = await rawExchange(gw.port, `${head}${big.length.toString(16)}\r\n${big}\r\n`);
    assert.match(reply, /^HTTP\/1.1 413/);
  });

  test('a client that stalls mid-body gets 408', async () => {
    const reply = await rawExchange(gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"model":', 2000);
    assert.match(reply, /^HTTP\/1.1 408/);
    assert.match(reply, /"code":"request_timeout"/);
  });

  test('a malformed chunked body gets a 400 in the OpenAI shape, not a silently closed socket', async () => {
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const reply = await rawExchange(gw.port, `${head}5\r\n{"mod\r\nZZ\r\nel":\r\n0\r\n\r\n`);
    assert.match(reply, /^HTTP\/1.1 400/);
    assert.match(reply, /"type":"invalid_request_error"/);
    assert.match(reply, /"code":"malformed_request"/);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('mock'))).status, 200);
  });

  test('Expect: 100-continue with a declared body over the limit gets the 413 instead of 100 Continue', async () => {
    const reply = await rawExchange(gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 413/);
    assert.doesNotMatch(reply, /100 Continue/);
    // Within the limit, the body is asked for and served.
    const body = chat('mock');
    const small = await rawExchange(gw.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`, 1000, body);
    assert.match(small, /^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200/);
  });

  test('a wrong method is 405 with Allow, an unknown path 404, both OpenAI-shaped', async () => {
    const get = await fetch(`${gw.url}/v1/chat/completions`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(((await get.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
    const postModels = await fetch(`${gw.url}/v1/models`, { method: 'POST' });
    assert.equal(postModels.status, 405);
    const missing = await fetch(`${gw.url}/v2/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'unknown_url');
  });

  test('garbage HTTP gets a 400 in the OpenAI shape', async () => {
    const reply = await rawExchange(gw.port, 'THIS IS NOT HTTP\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 400/);
    assert.match(reply, /"type":"invalid_request_error"/);
  });

  test('hundreds of malformed and truncated requests, then a good one succeeds', async () => {
    const good = chat('mock');
    const bodies: string[] = [];
    const longer = chat('mock', { stream: true, temperature: 0.5, max_tokens: 20, user: 'u-1' });
    for (let cut = 0; cut < good.length; cut++) bodies.push(good.slice(0, cut));
    for (let cut = 0; cut < longer.length; cut += 2) bodies.push(longer.slice(0, cut));
    bodies.push('null', 'true', '"str"', '{}', '{"model":null}', '{"model":"mock","messages":[null]}', '{"model":"mock","messages":[{"role":5}]}', '\u0000\u0001', '{"model":"mock","messages":[{"role":"user"}]'.repeat(3));
    let sent = 0;
    for (const body of bodies) {
      const res = await post(`${gw.url}/v1/chat/completions`, body);
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status} for ${JSON.stringify(body)}`);
      assert.equal(typeof errorOf(res).message, 'string');
      sent++;
    }
    // Truncated at the socket level: headers promise more than arrives, then the client leaves.
    for (let i = 0; i < 100; i++) {
      const socket = connect(gw.port, '127.0.0.1');
      socket.end(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n${good.slice(0, i % good.length)}`);
      socket.on('error', () => undefined);
      sent++;
    }
    assert.ok(sent >= 200);
    await sleep(50);
    const res = await post(`${gw.url}/v1/chat/completions`, good);
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body.toString()) as { object: string }).object, 'chat.completion');
  });
});

test('the client header timeout is checked every tenth of it, at most every second (Node checks every 30 s by default)', async () => {
  for (const [seconds, interval] of [
    [30, 1000],
    [0.5, 50],
  ] as const) {
    const gw = await startGateway(`
server: { timeouts: { client_header: ${seconds} } }
model_list: [{model_name: m, litellm_params: {model: mock/m}}]
`);
    try {
      // Node stores the option on the server; @types/node does not declare it.
      const server = gw.listening.server as Server & { connectionsCheckingInterval: number };
      assert.equal(server.headersTimeout, seconds * 1000);
      assert.equal(server.connectionsCheckingInterval, interval);
    } finally {
      await gw.close();
    }
  }
});

test('a client that leaves mid-body (HTTP/1.1) is never admitted: its key has its one request a minute left', async () => {
  const key = 'sk-midbody-0123456789';
  const gw = await startGateway(`keys: [{ key: ${key}, alias: once, rpm: 1 }]\nmodel_list: [{ model_name: m, litellm_params: { model: mock/m } }]\n`);
  try {
    // A whole JSON object, short of the declared length: were it read as the body, the request would be admitted.
    const part = chat('m');
    const socket = connect(gw.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: ${part.length + 100}\r\n\r\n${part}`);
    await until('the request is in flight', () => gw.gateway.inFlight === 1);
    socket.destroy();
    await until('the request is over', () => gw.gateway.inFlight === 0);
    const headers = { authorization: `Bearer ${key}` };
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'), headers)).status, 200);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'), headers)).status, 429, 'the limit is one a minute');
  } finally {
    await gw.close();
  }
});

/**
 * Writes raw bytes and collects what comes back until the server closes or `waitMs` passes; `onContinue` is sent
 * once a `100 Continue` arrives.
 */
function rawExchange(port: number, payload: string, waitMs = 1000, onContinue?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = (): void => {
      socket.destroy();
      resolve(data);
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (d: Buffer) => {
      data += d.toString();
      if (onContinue !== undefined && data.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        socket.write(onContinue);
        onContinue = undefined;
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', () => undefined);
    socket.write(payload);
  });
}

test('a malformed percent-escape in /v1/models/{id} is a 404, not a crash', async () => {
  const gw = await startGateway('model_list: [{model_name: m, litellm_params: {model: mock/m}}]');
  try {
    const res = await fetch(`${gw.url}/v1/models/%E0%A4%A`);
    assert.equal(res.status, 404);
    assert.equal((await fetch(`${gw.url}/v1/models/m`)).status, 200);
  } finally {
    await gw.close();
  }
});

test('requests refused before the chain still reach onError and the access log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-refused-'));
  const file = join(dir, 'access.log');
  const gw = await startGateway(`
model_list:
  - model_name: mock
    litellm_params: { model: mock/mock }
plugins:
  - route.round_robin
  - name: log.access
    options: { destination: "${file}" }
`);
  try {
    assert.equal((await post(`${gw.url}/v1/chat/completions`, '{"model": ', { 'x-request-id': 'bad-json' })).status, 400);
    assert.equal((await post(`${gw.url}/v1/nowhere`, '{}', { 'x-request-id': 'no-route' })).status, 404);
    const wrongMethod = await post(`${gw.url}/health/liveliness`, '{}', { 'x-request-id': 'wrong-method' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers['x-request-id'], 'wrong-method');
    const logged = (): string => readFileSync(file, 'utf8');
    await until('the access log has all three', () => ['bad-json', 'no-route', 'wrong-method'].every((id) => logged().includes(`"${id}"`)));
    const entries = logged()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { id: string; status: number; outcome: string; error: string; path: string });
    const byId = new Map(entries.map((e) => [e.id, e]));
    assert.deepEqual(
      ['bad-json', 'no-route', 'wrong-method'].map((id) => [byId.get(id)?.status, byId.get(id)?.error, byId.get(id)?.outcome]),
      [
        [400, 'SLUICE_INVALID_JSON', 'error'],
        [404, 'SLUICE_ROUTE_NOT_FOUND', 'error'],
        [405, 'SLUICE_METHOD_NOT_ALLOWED', 'error'],
      ],
    );
    assert.equal(byId.get('no-route')?.path, '/v1/nowhere');
  } finally {
    await gw.close();
  }
});

describe('nesting depth', () => {
  /** A body whose deepest value sits at `depth` (the body object itself is level 1), spaced oddly on purpose. */
  const nested = (model: string, depth: number): string =>
    `{ "model" : "${model}",\n  "messages": [{"role": "user", "content": "caf\\u00e9 \\"[[[[\\" \\\\"}], "temperature": 1.0, "n": 1e0,` +
    ` "metadata": {"model": "${model}"}, "extra": ${'['.repeat(depth - 1)}${']'.repeat(depth - 1)} }`;

  test('a body nested to the limit reaches the backend byte for byte but for model; one level deeper is a 400 naming the limit', async () => {
    const sim = await startOpenAISim();
    const gw = await startGateway(`
model_list:
  - model_name: alias
    litellm_params: { model: openai/upstream-name, api_base: "${sim.url}" }
`);
    try {
      const atLimit = nested('alias', MAX_JSON_DEPTH);
      JSON.parse(atLimit);
      const res = await post(`${gw.url}/v1/chat/completions`, atLimit);
      assert.equal(res.status, 200);
      // Only the top-level model changed; numbers, escapes, spacing and the nested "model" are the client's.
      assert.equal(sim.stats.lastRequest?.body, atLimit.replace('"model" : "alias"', '"model" : "upstream-name"'));

      const deeper = await post(`${gw.url}/v1/chat/completions`, nested('alias', MAX_JSON_DEPTH + 1));
      assert.equal(deeper.status, 400);
      assert.equal(errorOf(deeper).code, 'invalid_json');
      assert.match(errorOf(deeper).message, new RegExp(`limit of ${MAX_JSON_DEPTH} levels`));
      const localized = await post(`${gw.url}/v1/chat/completions`, nested('alias', MAX_JSON_DEPTH + 1), { 'accept-language': 'ja' });
      assert.equal(localized.headers['content-language'], 'ja');
      assert.ok(errorOf(localized).message.includes(String(MAX_JSON_DEPTH)), errorOf(localized).message);
    } finally {
      await gw.close();
      await sim.close();
    }
  });

  test('brackets inside strings do not count as nesting', async () => {
    const gw = await startGateway('model_list: [{model_name: mock, litellm_params: {model: mock/mock}}]');
    try {
      const content = `\\"${'['.repeat(MAX_JSON_DEPTH * 2)}\\\\`;
      const res = await post(`${gw.url}/v1/chat/completions`, `{"model":"mock","messages":[{"role":"user","content":"${content}"}]}`);
      assert.equal(res.status, 200);
    } finally {
      await gw.close();
    }
  });

  test('a second top-level model key never reaches the backend with a model other than the one authorized', async () => {
    const sim = await startOpenAISim();
    const gw = await startGateway(`
general_settings: { master_key: sk-master-0000 }
keys: [{ key: sk-only-allowed, models: [allowed] }]
model_list:
  - model_name: allowed
    litellm_params: { model: openai/allowed, api_base: "${sim.url}" }
`);
    try {
      // JSON.parse keeps the last key (checked: "allowed"); a backend reading the first would serve "other".
      for (const body of [
        '{"model":"other","messages":[{"role":"user","content":"hi"}],"model":"allowed"}',
        '{"mod\\u0065l":"other","messages":[{"role":"user","content":"hi"}],"model":"allowed"}',
      ]) {
        const res = await post(`${gw.url}/v1/chat/completions`, body, { authorization: 'Bearer sk-only-allowed' });
        assert.equal(res.status, 200);
        const sent = sim.stats.lastRequest!.body;
        assert.ok(!sent.includes('other'), sent);
      }
    } finally {
      await gw.close();
      await sim.close();
    }
  });

  test('replaceModel sets every top-level model, escaped keys included, and nothing nested', () => {
    const raw = Buffer.from('{"model":"a", "mod\\u0065l" :"b","x":{"model":"c"},"y":["model","a"],"n":1.50}');
    assert.equal(replaceModel(Buffer.from('{"model":"a","b":["c"],"model":"d"}'), 'm').toString(), '{"model":"m","b":["c"],"model":"m"}');
    assert.equal(replaceModel(raw, 'up"stream').toString(), '{"model":"up\\"stream", "mod\\u0065l" :"up\\"stream","x":{"model":"c"},"y":["model","a"],"n":1.50}');
  });
});
