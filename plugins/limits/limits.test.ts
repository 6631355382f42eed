// limit.key and limit.client through a real listener, on the in-memory store (test/replicas.test.ts covers Redis).

import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { chat, errorOf, post, sleep, startGateway, startHeldBackend, until, type TestGateway } from '../../test/helpers.ts';
import { formatReset, rateLimitHeaders } from './headers.ts';
import keyLimits from './key-limits.ts';
import { fakeContext, fakeDeps } from '../../core/plugin/testing.ts';
import type { RequestContext, SluiceError } from '../../core/plugin/api.ts';
import { MemoryStore } from '../../core/state/memory-store.ts';

const open: TestGateway[] = [];
after(async () => {
  await Promise.all(open.map((g) => g.close()));
});
async function gateway(yaml: string): Promise<TestGateway> {
  const gw = await startGateway(yaml);
  open.push(gw);
  return gw;
}

const KEY = 'sk-limited-0123456789';
const auth = { authorization: `Bearer ${KEY}` };

describe('limit.key', () => {
  test('rpm: an exact count, then 429 with Retry-After and the rate-limit headers', async (t) => {
    // The limiter reads Date.now(): held still, so the four requests share one instant however long they take.
    const clock = Date.now();
    t.mock.method(Date, 'now', () => clock);
    const gw = await gateway(`
keys: [{ key: ${KEY}, alias: k, rpm: 3 }]
model_list: [{ model_name: m, litellm_params: { model: mock/m } }]`);
    for (let i = 0; i < 3; i++) {
      const ok = await post(`${gw.url}/v1/chat/completions`, chat('m'), auth);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-ratelimit-limit-requests'], '3');
      assert.equal(ok.headers['x-ratelimit-remaining-requests'], String(2 - i));
    }
    const refused = await post(`${gw.url}/v1/chat/completions`, chat('m'), auth);
    assert.equal(refused.status, 429);
    assert.equal(errorOf(refused).code, 'rate_limit_exceeded');
    assert.equal(errorOf(refused).type, 'rate_limit_error');
    assert.equal(refused.headers['retry-after'], '60');
    assert.equal(refused.headers['x-ratelimit-remaining-requests'], '0');
  });

  test('max_parallel_requests: the third concurrent stream is refused, and a slot frees when one ends', async () => {
    // The backend holds the streams open until told, so they are concurrent however slow the machine is.
    const backend = await startHeldBackend();
    try {
      const gw = await gateway(`
keys: [{ key: ${KEY}, alias: k, max_parallel_requests: 2 }]
model_list: [{ model_name: m, litellm_params: { model: openai/m, api_base: "${backend.url}" } }]`);
      const streams = [post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true }), auth), post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true }), auth)];
      await until('both streams are running', () => backend.open === 2);
      const third = await post(`${gw.url}/v1/chat/completions`, chat('m'), auth);
      assert.equal(third.status, 429);
      assert.match(errorOf(third).message, /concurrent/);
      backend.release();
      assert.deepEqual((await Promise.all(streams)).map((r) => r.status), [200, 200]);
      // The slots come back as the gateway closes the books on the ended streams.
      let next = 0;
      for (let i = 0; i < 400 && next !== 200; i++) {
        if (i > 0) await sleep(50);
        next = (await post(`${gw.url}/v1/chat/completions`, chat('m'), auth)).status;
      }
      assert.equal(next, 200);
    } finally {
      await backend.close();
    }
  });

  test('tpm: tokens are charged from usage, and a request whose estimate does not fit is refused', async () => {
    // Each mock answer reports 40 completion tokens plus the prompt; 100 tokens a minute allow two.
    const gw = await gateway(`
keys: [{ key: ${KEY}, alias: k, tpm: 100 }]
model_list: [{ model_name: m, litellm_params: { model: mock/m, mock_tokens: 40 } }]`);
    const first = await post(`${gw.url}/v1/chat/completions`, chat('m'), auth);
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-ratelimit-limit-tokens'], '100');
    const second = await post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true }), auth);
    assert.equal(second.status, 200);
    const third = await post(`${gw.url}/v1/chat/completions`, chat('m'), auth);
    assert.equal(third.status, 429);
    assert.match(errorOf(third).message, /Token limit/);
    assert.equal(third.headers['x-ratelimit-remaining-tokens'], '0');
  });

  test('usage the gateway asked for on a stream is dropped: the client gets exactly what it would without it', async () => {
    const gw = await gateway(`
keys: [{ key: ${KEY}, alias: k, tpm: 100000 }]
model_list: [{ model_name: m, litellm_params: { model: mock/m, mock_tokens: 3 } }]`);
    const plain = await post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true }), auth);
    const events = plain.body.toString().split('\n\n').filter((e) => e !== '');
    assert.ok(!events.some((e) => /"choices":\[\]/.test(e)), 'no usage-only event reached a client that did not ask');
    assert.equal(events.at(-1), 'data: [DONE]');
    // A client that asked for usage keeps its usage event.
    const asked = await post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true, stream_options: { include_usage: true } }), auth);
    assert.ok(asked.body.toString().split('\n\n').some((e) => /"choices":\[\],"usage":\{/.test(e)));
  });

  test('per model group limits hold for all callers together', async () => {
    const gw = await gateway(`
plugins:
  - name: limit.key
    options: { models: { m: { rpm: 2 } } }
  - route.round_robin
model_list: [{ model_name: m, litellm_params: { model: mock/m } }, { model_name: other, litellm_params: { model: mock/o } }]`);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status, 200);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status, 200);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status, 429);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('other'))).status, 200, 'other groups are not limited');
  });
});

describe('limit.client', () => {
  test('rate and burst per client address, as nginx limit_req with nodelay', async (t) => {
    // The limiter reads Date.now(): a clock the test moves, so "at once" and "after 1/rate" are exact.
    let clock = Date.now();
    t.mock.method(Date, 'now', () => clock);
    const gw = await gateway(`
plugins:
  - name: limit.client
    options: { rate: 2r/s, burst: 2 }
  - route.round_robin
model_list: [{ model_name: m, litellm_params: { model: mock/m } }]`);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status);
    // One at the rate plus a burst of two pass at once; the rest are refused.
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    clock += 499;
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status, 429, 'not before 1/rate');
    clock += 1;
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status, 200, 'one more after 1/rate');
  });

  test('behind a trusted proxy the client is the right-most untrusted X-Forwarded-For hop', async () => {
    const gw = await gateway(`
plugins:
  - name: limit.client
    options: { rate: 1r/m, trusted_proxies: [127.0.0.0/8] }
  - route.round_robin
model_list: [{ model_name: m, litellm_params: { model: mock/m } }]`);
    const from = (chain: string) => post(`${gw.url}/v1/chat/completions`, chat('m'), { 'x-forwarded-for': chain });
    assert.equal((await from('203.0.113.7')).status, 200);
    assert.equal((await from('203.0.113.7')).status, 429);
    assert.equal((await from('198.51.100.1, 203.0.113.8')).status, 200, 'a different client behind the same proxy');
    assert.equal((await from('198.51.100.99, 203.0.113.8, 127.0.0.5')).status, 429, 'trusted hops are skipped');
  });

  test('paths limits only the routes named', async () => {
    const gw = await gateway(`
plugins:
  - name: limit.client
    options: { rate: 1r/m, paths: [/v1/embeddings] }
  - route.round_robin
model_list: [{ model_name: m, litellm_params: { model: mock/m } }]`);
    const embed = () => post(`${gw.url}/v1/embeddings`, JSON.stringify({ model: 'm', input: 'x' }));
    assert.equal((await embed()).status, 200);
    assert.equal((await embed()).status, 429);
    for (let i = 0; i < 3; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status, 200);
  });

  test('without trusted proxies, X-Forwarded-For is ignored', async () => {
    const gw = await gateway(`
plugins:
  - name: limit.client
    options: { rate: 1r/m }
  - route.round_robin
model_list: [{ model_name: m, litellm_params: { model: mock/m } }]`);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'), { 'x-forwarded-for': '203.0.113.1' })).status, 200);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'), { 'x-forwarded-for': '203.0.113.2' })).status, 429);
    void request;
  });
});

test('reset times are written the way OpenAI writes them', () => {
  assert.equal(formatReset(120), '120ms');
  assert.equal(formatReset(1000), '1s');
  assert.equal(formatReset(360_000), '6m0s');
  assert.equal(formatReset(61_500), '1m2s');
});

test('the rate-limit headers reuse the last texts only when they would be written the same', () => {
  const values = [0, 0.4, 999, 999.2, 1000, 1000.5, 59_999, 60_000, 61_500, 3_600_000];
  // Each value twice in a row (the reuse), then in another order (a change of text each time).
  for (const resetMs of [...values.flatMap((v) => [v, v]), ...values.reverse()]) {
    for (const [limit, remaining] of [[10, 3], [1e12, 999_999_999_999], [10, -2]] as const) {
      const headers: Record<string, string> = {};
      rateLimitHeaders(headers, 'tokens', { allowed: true, limit, remaining, resetMs, retryAfterMs: 0 });
      assert.deepEqual(headers, {
        'x-ratelimit-limit-tokens': String(limit),
        'x-ratelimit-remaining-tokens': String(Math.max(0, remaining)),
        'x-ratelimit-reset-tokens': formatReset(resetMs),
      });
    }
  }
});

describe('concurrency slots belong to the server, not to the client', () => {
  /** A backend that starts every stream (headers and one event) and holds it open until `release()`. */
  async function holdingBackend(): Promise<{ url: string; release(): void; close(): Promise<void> }> {
    const held: import('node:http').ServerResponse[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n');
        held.push(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const release = (): void => {
      for (const res of held.splice(0)) res.end('data: [DONE]\n\n');
    };
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
      release,
      close: () => {
        release();
        server.closeAllConnections();
        return new Promise<void>((r) => server.close(() => r()));
      },
    };
  }

  /** POSTs and resolves with the status as soon as the response head arrives (a stream stays open behind it). */
  function statusOf(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; done: Promise<void> }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        const done = new Promise<void>((r) => res.on('end', r).on('close', r));
        res.resume();
        resolve({ status: res.statusCode ?? 0, done });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  for (const scope of ['key', 'model group'] as const) {
    test(`max_parallel_requests 2 per ${scope}: ten streams sharing one x-request-id get 2x200 and 8x429`, async () => {
      const backend = await holdingBackend();
      try {
        const limits = scope === 'key' ? `keys: [{ key: ${KEY}, alias: k, max_parallel_requests: 2 }]` : `keys: [{ key: ${KEY}, alias: k }]`;
        const gw = await gateway(`
${limits}
plugins:
  - auth.api_key
  - name: limit.key
    options: { models: { ${scope === 'key' ? 'other' : 'm'}: { max_parallel_requests: 2 } } }
  - route.round_robin
model_list: [{ model_name: m, litellm_params: { model: openai/m, api_base: "${backend.url}" } }]`);
        const heads = await Promise.all(
          Array.from({ length: 10 }, () => statusOf(`${gw.url}/v1/chat/completions`, chat('m', { stream: true }), { ...auth, 'x-request-id': 'same-id' })),
        );
        const statuses = heads.map((h) => h.status).sort();
        backend.release();
        await Promise.all(heads.map((h) => h.done));
        assert.deepEqual(statuses, [200, 200, 429, 429, 429, 429, 429, 429, 429, 429]);
      } finally {
        await backend.close();
      }
    });
  }
});

describe('limit.key on the memory store answers without a promise', () => {
  const KEY_AUTH = { keyId: 'k', models: null, limits: { rpm: 2, tpm: 1000, maxParallelRequests: 1 }, metadata: {} };

  test('admit and log are synchronous and exact: rpm, tpm and the concurrency slot', async () => {
    const plugin = await keyLimits.create({}, fakeDeps({ sections: { keys: [{ key: 'x', tpm: 1000 }] } }));
    const ctx = (): RequestContext => {
      const c = fakeContext();
      c.auth = KEY_AUTH;
      return c;
    };
    const first = ctx();
    // No promise: the request phases stay synchronous with this chain.
    assert.equal(plugin.admit!(first), undefined);
    assert.equal(first.responseHeaders['x-ratelimit-remaining-requests'], '1');
    assert.equal(first.responseHeaders['x-ratelimit-limit-tokens'], '1000');
    // The one concurrency slot is taken: a second request at the same time is refused, synchronously.
    assert.throws(() => plugin.admit!(ctx()), (error: SluiceError) => error.status === 429 && /concurrent/.test(error.message));
    first.usage = { promptTokens: 10, completionTokens: 990, totalTokens: 1000 };
    assert.equal(plugin.log!(first), undefined);
    // The slot is free again, and the tokens were charged: the next estimate no longer fits the minute.
    assert.throws(() => plugin.admit!(ctx()), (error: SluiceError) => error.status === 429 && /Token limit/.test(error.message));
  });

  test('a refused request gives its concurrency slot back', async () => {
    const store = new MemoryStore();
    const plugin = await keyLimits.create({}, fakeDeps({ store }));
    const limited = { ...KEY_AUTH, limits: { rpm: 1, tpm: null, maxParallelRequests: 1 } };
    const ctx = (): RequestContext => {
      const c = fakeContext();
      c.auth = limited;
      return c;
    };
    const first = ctx();
    assert.equal(plugin.admit!(first), undefined);
    assert.equal(store.stats().leases, 1);
    plugin.log!(first);
    assert.equal(store.stats().leases, 0);
    // Over the rpm: refused after taking the slot, which must not stay taken.
    assert.throws(() => plugin.admit!(ctx()), /Request limit/);
    assert.equal(store.stats().leases, 0);
  });
});
