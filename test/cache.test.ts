// The response cache through real sockets: the openai SDK against Sluice, the OpenAI simulator counting what
// reaches the backend, and (for the shared store) a real redis-server behind two Sluice instances.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { BadRequestError, InternalServerError, RateLimitError } from 'openai';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chat, errorOf, json, post, startGateway, until, untilAsync, type TestGateway } from './helpers.ts';
import { redisCommand, startRedis, type RedisServer } from './redis-server.ts';

const MASTER = 'sk-master-0123456789';
const KEY = 'sk-user-0123456789';

function models(sim: Sim): string {
  return `
model_list:
  - model_name: m
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}, api_key: sk-backend }
  - model_name: embed
    litellm_params: { model: openai/sim-embed, api_base: ${sim.url}, api_key: sk-backend }
router_settings: { num_retries: 0 }
`;
}

let prompt = 0;
/** A prompt no other test sent, so entries never leak between tests. */
function fresh(): OpenAI.ChatCompletionMessageParam[] {
  return [{ role: 'user', content: `question ${prompt++} ${process.hrtime.bigint()}` }];
}

async function streamText(client: OpenAI, body: OpenAI.ChatCompletionCreateParamsStreaming): Promise<{ text: string; ids: Set<string>; usage: boolean; headers: Headers }> {
  const { data, response } = await client.chat.completions.create(body).withResponse();
  let text = '';
  const ids = new Set<string>();
  let usage = false;
  for await (const chunk of data) {
    text += chunk.choices[0]?.delta.content ?? '';
    ids.add(chunk.id);
    if (chunk.usage) usage = true;
  }
  return { text, ids, usage, headers: response.headers };
}

describe('response cache in memory', () => {
  let sim: Sim;
  let gw: TestGateway;
  let client: OpenAI;
  let admin: OpenAI;
  const accessLog = join(mkdtempSync(join(tmpdir(), 'sluice-cache-')), 'access.log');
  const logLines = (): string[] => (existsSync(accessLog) ? readFileSync(accessLog, 'utf8').split('\n').filter((l) => l !== '') : []);

  before(async () => {
    sim = await startOpenAISim({ text: 'The answer is forty two' });
    gw = await startGateway(
      `${models(sim)}
general_settings: { master_key: ${MASTER} }
keys: [{ key: ${KEY}, alias: user }]
plugins:
  - auth.api_key
  - limit.key
  - route.round_robin
  - name: guard.output.ban_substrings
    options: { substrings: ["forbidden"], action: block }
  - name: log.access
    options: { destination: ${JSON.stringify(accessLog)} }
litellm_settings:
  cache: true
  cache_params: { type: local, ttl: 600 }
`);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
    admin = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await sim.close();
  });

  test('a JSON answer is stored and replayed: the backend is asked once, the hit says so', async () => {
    const messages = fresh();
    const before = sim.stats.requests;
    const first = await client.chat.completions.create({ model: 'm', messages }).withResponse();
    const second = await client.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(sim.stats.requests - before, 1);
    assert.equal(first.response.headers.get('x-sluice-cache'), 'miss');
    assert.equal(first.response.headers.get('x-litellm-cache-key'), null);
    assert.equal(second.response.headers.get('x-sluice-cache'), 'hit');
    assert.match(second.response.headers.get('x-litellm-cache-key')!, /^[0-9a-f]{64}$/);
    assert.equal(second.data.id, first.data.id);
    assert.equal(second.data.choices[0]!.message.content, 'The answer is forty two');
  });

  test('user, metadata and key order stay out of the key; a changed parameter is a new question', async () => {
    const messages = fresh();
    const before = sim.stats.requests;
    const body = { model: 'm', messages, temperature: 0.5, user: 'alice' };
    await post(`${gw.url}/v1/chat/completions`, JSON.stringify(body), { authorization: `Bearer ${KEY}` });
    const reordered = JSON.stringify({ user: 'bob', metadata: { team: 'x' }, temperature: 0.5, messages, model: 'm' });
    const hit = await post(`${gw.url}/v1/chat/completions`, reordered, { authorization: `Bearer ${KEY}` });
    assert.equal(hit.headers['x-sluice-cache'], 'hit');
    const other = await post(`${gw.url}/v1/chat/completions`, JSON.stringify({ ...body, temperature: 0.7 }), { authorization: `Bearer ${KEY}` });
    assert.equal(other.headers['x-sluice-cache'], 'miss');
    assert.equal(sim.stats.requests - before, 2);
  });

  test('a stream is recorded whole and replayed as SSE at once; JSON and stream are separate entries', async () => {
    const messages = fresh();
    const before = sim.stats.requests;
    const first = await streamText(client, { model: 'm', messages, stream: true });
    const second = await streamText(client, { model: 'm', messages, stream: true });
    assert.equal(sim.stats.requests - before, 1);
    assert.equal(second.headers.get('x-sluice-cache'), 'hit');
    assert.equal(second.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(second.headers.get('cache-control'), 'no-cache');
    assert.equal(second.text, first.text);
    assert.equal(second.text.trim(), 'The answer is forty two');
    assert.deepEqual([...second.ids], [...first.ids]);
    // The same question without `stream` is another entry.
    const asJson = await client.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(asJson.response.headers.get('x-sluice-cache'), 'miss');
    assert.equal(sim.stats.requests - before, 2);
  });

  test('the usage event the gateway injects for limit.key is not recorded; one the client asked for is', async () => {
    // limit.key wants usage, so the gateway asks the backend for it on streams and drops it for the client.
    const messages = fresh();
    await streamText(client, { model: 'm', messages, stream: true });
    const replay = await streamText(client, { model: 'm', messages, stream: true });
    assert.equal(replay.headers.get('x-sluice-cache'), 'hit');
    assert.equal(replay.usage, false);
    const withUsage = fresh();
    await streamText(client, { model: 'm', messages: withUsage, stream: true, stream_options: { include_usage: true } });
    const replayUsage = await streamText(client, { model: 'm', messages: withUsage, stream: true, stream_options: { include_usage: true } });
    assert.equal(replayUsage.headers.get('x-sluice-cache'), 'hit');
    assert.equal(replayUsage.usage, true);
  });

  test('no-cache skips the lookup but stores; no-store looks up but does not store', async () => {
    const messages = fresh();
    const before = sim.stats.requests;
    const a = await client.chat.completions.create({ model: 'm', messages }).withResponse();
    const bypass = await client.chat.completions.create({ model: 'm', messages, cache: { 'no-cache': true } } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    assert.equal(bypass.response.headers.get('x-sluice-cache'), 'bypass');
    assert.notEqual(bypass.data.id, a.data.id);
    // The bypassing request stored its fresh answer.
    const c = await client.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(c.data.id, bypass.data.id);
    assert.equal(sim.stats.requests - before, 2);
    // The controls never reach the backend.
    assert.equal((JSON.parse(sim.stats.lastRequest!.body) as Record<string, unknown>)['cache'], undefined);

    const unstored = fresh();
    await client.chat.completions.create({ model: 'm', messages: unstored, cache: { 'no-store': true } } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const again = await client.chat.completions.create({ model: 'm', messages: unstored }).withResponse();
    assert.equal(again.response.headers.get('x-sluice-cache'), 'miss');
    assert.equal(sim.stats.requests - before, 4);
  });

  test('namespaces keep entries apart; s-maxage refuses old entries', async () => {
    const messages = fresh();
    const before = sim.stats.requests;
    const plain = await client.chat.completions.create({ model: 'm', messages });
    const spaced = await client.chat.completions.create({ model: 'm', messages, cache: { namespace: 'team-a' } } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    assert.equal(spaced.response.headers.get('x-sluice-cache'), 'miss');
    assert.notEqual(spaced.data.id, plain.id);
    const spacedHit = await client.chat.completions.create({ model: 'm', messages, cache: { namespace: 'team-a' } } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    assert.match(spacedHit.response.headers.get('x-litellm-cache-key')!, /^team-a:[0-9a-f]{64}$/);
    assert.equal(spacedHit.data.id, spaced.data.id);
    const young = await client.chat.completions.create({ model: 'm', messages, cache: { 's-maxage': 0 } } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    assert.equal(young.response.headers.get('x-sluice-cache'), 'miss');
    assert.equal(sim.stats.requests - before, 3);
  });

  test('a cache control of the wrong type is a 400 naming it', async () => {
    for (const [cache, param] of [
      [{ ttl: 'soon' }, 'cache.ttl'],
      [{ 'no-cache': 'yes' }, 'cache.no-cache'],
      [{ namespace: 5 }, 'cache.namespace'],
      ['on', 'cache'],
    ] as const) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('m', { cache }), { authorization: `Bearer ${KEY}` });
      assert.equal(res.status, 400);
      assert.equal(errorOf(res).param, param);
    }
    await assert.rejects(
      client.chat.completions.create({ model: 'm', messages: fresh(), cache: { ttl: -1 } } as OpenAI.ChatCompletionCreateParamsNonStreaming),
      (error: unknown) => error instanceof BadRequestError && error.param === 'cache.ttl',
    );
  });

  test('an answer an output guard blocks is never stored', async () => {
    sim.knobs.text = 'this is forbidden text';
    try {
      const messages = fresh();
      const before = sim.stats.requests;
      // The guard answers in the backend's stead (a content_filter finish); that answer is not the backend's.
      const blocked = await client.chat.completions.create({ model: 'm', messages });
      assert.equal(blocked.choices[0]!.finish_reason, 'content_filter');
      const again = await client.chat.completions.create({ model: 'm', messages }).withResponse();
      assert.equal(again.response.headers.get('x-sluice-cache'), 'miss');
      assert.equal(sim.stats.requests - before, 2);
      // Nor a stream the guard stops.
      const streamed = fresh();
      await streamText(client, { model: 'm', messages: streamed, stream: true }).catch(() => undefined);
      await streamText(client, { model: 'm', messages: streamed, stream: true }).catch(() => undefined);
      assert.equal(sim.stats.requests - before, 4);
    } finally {
      sim.knobs.text = 'The answer is forty two';
    }
  });

  test('a stream cut by the client or by the backend is not stored', async () => {
    sim.knobs.chunkIntervalMs = 30;
    sim.knobs.tokens = 10;
    try {
      const messages = fresh();
      const before = sim.stats.requests;
      const controller = new AbortController();
      const stream = await client.chat.completions.create({ model: 'm', messages, stream: true }, { signal: controller.signal });
      let chunks = 0;
      try {
        for await (const _chunk of stream) {
          chunks++;
          controller.abort();
        }
      } catch {
        // The SDK may end the iteration or throw its abort error.
      }
      assert.equal(chunks, 1);
      await until('the backend saw the abort', () => sim.stats.aborts > 0);
      const whole = await streamText(client, { model: 'm', messages, stream: true });
      assert.equal(whole.headers.get('x-sluice-cache'), 'miss');
      assert.equal(whole.text.trim(), 'The answer is forty two');

      const dropped = fresh();
      sim.knobs.dropAfterChunks = 2;
      await streamText(client, { model: 'm', messages: dropped, stream: true }).catch(() => undefined);
      sim.knobs.dropAfterChunks = null;
      const after = await streamText(client, { model: 'm', messages: dropped, stream: true });
      assert.equal(after.headers.get('x-sluice-cache'), 'miss');
      assert.equal(sim.stats.requests - before, 4);
    } finally {
      sim.knobs.chunkIntervalMs = 0;
      sim.knobs.tokens = 5;
      sim.knobs.dropAfterChunks = null;
    }
  });

  test('an error answer is not stored', async () => {
    const messages = fresh();
    sim.knobs.status = 500;
    try {
      await assert.rejects(client.chat.completions.create({ model: 'm', messages }), InternalServerError);
    } finally {
      sim.knobs.status = null;
    }
    const ok = await client.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(ok.response.headers.get('x-sluice-cache'), 'miss');
  });

  test('the access log says hit or miss', async () => {
    const messages = fresh();
    await client.chat.completions.create({ model: 'm', messages });
    await client.chat.completions.create({ model: 'm', messages });
    await until('log lines', () => logLines().filter((l) => l.includes('"cache":"hit"')).length >= 1);
    const lines = logLines().map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l['cache'] === 'miss' && typeof l['cache_key'] === 'string'), 'a miss logged');
    assert.ok(lines.some((l) => l['cache'] === 'hit' && l['outcome'] === 'replied'), 'a hit logged');
  });

  test('20 identical requests at once reach the backend once', async () => {
    const messages = fresh();
    sim.knobs.delayMs = 150;
    try {
      const before = sim.stats.requests;
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.chat.completions.create({ model: 'm', messages })));
      assert.equal(sim.stats.requests - before, 1);
      assert.equal(new Set(answers.map((a) => a.id)).size, 1);
    } finally {
      sim.knobs.delayMs = 0;
    }
  });

  test('20 identical streams at once reach the backend once, and every client gets the whole stream', async () => {
    const messages = fresh();
    sim.knobs.chunkIntervalMs = 20;
    try {
      const before = sim.stats.requests;
      const answers = await Promise.all(Array.from({ length: 20 }, () => streamText(client, { model: 'm', messages, stream: true })));
      assert.equal(sim.stats.requests - before, 1);
      for (const answer of answers) assert.equal(answer.text.trim(), 'The answer is forty two');
    } finally {
      sim.knobs.chunkIntervalMs = 0;
    }
  });

  test('when the leader fails, one waiter takes over and the rest get its answer', async () => {
    const messages = fresh();
    sim.knobs.status = 500;
    sim.knobs.delayMs = 200;
    const before = sim.stats.requests;
    try {
      const leader = client.chat.completions.create({ model: 'm', messages }).then(
        () => 'ok',
        (error: unknown) => (error instanceof InternalServerError ? 'failed' : String(error)),
      );
      await until('the leader reached the backend', () => sim.stats.requests - before === 1);
      sim.knobs.status = null;
      const followers = await Promise.all(Array.from({ length: 5 }, () => client.chat.completions.create({ model: 'm', messages })));
      assert.equal(await leader, 'failed');
      assert.equal(sim.stats.requests - before, 2);
      assert.equal(new Set(followers.map((a) => a.id)).size, 1);
    } finally {
      sim.knobs.status = null;
      sim.knobs.delayMs = 0;
    }
  });

  test('admin routes: ping and delete for the master key only', async () => {
    const messages = fresh();
    await client.chat.completions.create({ model: 'm', messages });
    const hit = await client.chat.completions.create({ model: 'm', messages }).withResponse();
    const key = hit.response.headers.get('x-litellm-cache-key')!;
    const ping = await fetch(`${gw.url}/cache/ping`, { headers: { authorization: `Bearer ${MASTER}` } });
    assert.equal(ping.status, 200);
    assert.equal(((await ping.json()) as { status: string }).status, 'healthy');
    const refused = await post(`${gw.url}/cache/delete`, JSON.stringify({ keys: [key] }), { authorization: `Bearer ${KEY}` });
    assert.equal(refused.status, 403);
    const bad = await post(`${gw.url}/cache/delete`, JSON.stringify({ keys: 'x' }), { authorization: `Bearer ${MASTER}` });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).param, 'keys');
    const deleted = await post(`${gw.url}/cache/delete`, JSON.stringify({ keys: [key] }), { authorization: `Bearer ${MASTER}` });
    assert.equal(deleted.status, 200);
    assert.deepEqual(json(deleted), { status: 'success', deleted: 1 });
    const after = await admin.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(after.response.headers.get('x-sluice-cache'), 'miss');
  });
});

describe('response cache and key limits', () => {
  test('a hit counts toward the request limit but spends no tokens', async () => {
    const sim = await startOpenAISim({ text: 'short answer', tokens: 2 });
    const gw = await startGateway(`${models(sim)}
keys: [{ key: ${KEY}, alias: user, rpm: 3, tpm: 100000 }]
plugins: [auth.api_key, limit.key, route.round_robin]
litellm_settings: { cache: true }
`);
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
      const messages = fresh();
      await client.chat.completions.create({ model: 'm', messages });
      const hit = await client.chat.completions.create({ model: 'm', messages }).withResponse();
      assert.equal(hit.response.headers.get('x-sluice-cache'), 'hit');
      assert.equal(hit.response.headers.get('x-ratelimit-remaining-requests'), '1');
      const tokensAfterMiss = hit.response.headers.get('x-ratelimit-remaining-tokens');
      assert.ok(tokensAfterMiss !== null && Number(tokensAfterMiss) < 100000, 'the miss spent tokens');
      const hit2 = await client.chat.completions.create({ model: 'm', messages }).withResponse();
      // The first hit spent none.
      assert.equal(hit2.response.headers.get('x-ratelimit-remaining-tokens'), tokensAfterMiss);
      await assert.rejects(client.chat.completions.create({ model: 'm', messages }), RateLimitError);
      assert.equal(sim.stats.requests, 1);
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});

describe('response cache shared through Redis (real redis-server, two instances)', () => {
  let redis: RedisServer;
  let sim: Sim;
  let a: TestGateway;
  let b: TestGateway;
  let clientA: OpenAI;
  let clientB: OpenAI;

  const config = (): string => `${models(sim)}
litellm_settings:
  cache: true
cache_params: { type: redis, host: 127.0.0.1, port: ${redis.port}, ttl: 36000, namespace: shared }
`;

  /** Until the instance's cache store answers: before that a request would simply go upstream unstored. */
  const ready = (gw: TestGateway): Promise<void> => untilAsync('cache store ready', async () => (await fetch(`${gw.url}/cache/ping`)).status === 200);

  before(async () => {
    redis = await startRedis();
    sim = await startOpenAISim({ text: 'Shared answer' });
    a = await startGateway(config());
    b = await startGateway(config());
    await ready(a);
    await ready(b);
    clientA = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
    clientB = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await sim?.close();
    await redis?.stop();
  });

  test('a JSON answer stored by one instance is a hit on the other', async () => {
    const messages = fresh();
    const before = sim.stats.requests;
    const first = await clientA.chat.completions.create({ model: 'm', messages });
    const second = await clientB.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(second.response.headers.get('x-sluice-cache'), 'hit');
    assert.match(second.response.headers.get('x-litellm-cache-key')!, /^shared:[0-9a-f]{64}$/);
    assert.equal(second.data.id, first.id);
    assert.equal(sim.stats.requests - before, 1);
  });

  test('a stream stored by one instance is replayed by the other', async () => {
    const messages = fresh();
    const before = sim.stats.requests;
    const first = await streamText(clientA, { model: 'm', messages, stream: true });
    const second = await streamText(clientB, { model: 'm', messages, stream: true });
    assert.equal(second.headers.get('x-sluice-cache'), 'hit');
    assert.equal(second.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(second.text, first.text);
    assert.deepEqual([...second.ids], [...first.ids]);
    assert.equal(sim.stats.requests - before, 1);
  });

  test('embeddings stored by one instance are a hit on the other', async () => {
    const input = `embed me ${prompt++}`;
    const before = sim.stats.requests;
    const first = await clientA.embeddings.create({ model: 'embed', input, encoding_format: 'float' });
    const second = await clientB.embeddings.create({ model: 'embed', input, encoding_format: 'float' }).withResponse();
    assert.equal(second.response.headers.get('x-sluice-cache'), 'hit');
    assert.deepEqual(second.data.data[0]!.embedding, first.data[0]!.embedding);
    assert.equal(sim.stats.requests - before, 1);
  });

  test('an input guard runs before the lookup: a blocked prompt never reads the cache', async () => {
    const guarded = await startGateway(`${config()}
plugins:
  - route.round_robin
  - name: guard.input.ban_substrings
    options: { substrings: ["project nightingale"], action: block }
`);
    try {
      await ready(guarded);
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: `tell me about project nightingale ${prompt++}` }];
      // An instance without the guard stored the answer.
      await clientA.chat.completions.create({ model: 'm', messages });
      const hit = await clientB.chat.completions.create({ model: 'm', messages }).withResponse();
      assert.equal(hit.response.headers.get('x-sluice-cache'), 'hit');
      const guardedClient = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
      await assert.rejects(guardedClient.chat.completions.create({ model: 'm', messages }), BadRequestError);
      // The guarded instance still answers other prompts from the shared cache.
      const other = fresh();
      await clientA.chat.completions.create({ model: 'm', messages: other });
      const otherHit = await guardedClient.chat.completions.create({ model: 'm', messages: other }).withResponse();
      assert.equal(otherHit.response.headers.get('x-sluice-cache'), 'hit');
    } finally {
      await guarded.close();
    }
  });

  test('an entry expires with its ttl (Redis PEXPIRE)', async () => {
    const messages = fresh();
    const before = sim.stats.requests;
    // The new entry is found in Redis rather than by a hit, so nothing depends on how fast the next request comes.
    const keysBefore = new Set(await redisKeys(redis.port));
    await clientA.chat.completions.create({ model: 'm', messages, cache: { ttl: 2 } } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const added = (await redisKeys(redis.port)).filter((key) => !keysBefore.has(key) && !key.includes('lock'));
    assert.equal(added.length, 1, `one new entry: ${added.join(', ')}`);
    const key = added[0]!;
    const ttl = Number((await redisCommand(redis.port, ['PTTL', key])).slice(1));
    // -2: already gone; otherwise the expiry Redis holds is the request's 2 s, never the config's 36000 s.
    assert.ok(ttl === -2 || (ttl > 0 && ttl <= 2000), `PTTL ${ttl}`);
    await untilAsync('the entry expired', async () => (await redisCommand(redis.port, ['EXISTS', key])).startsWith(':0'));
    const after = await clientB.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(after.response.headers.get('x-sluice-cache'), 'miss');
    assert.equal(sim.stats.requests - before, 2);
  });

  test('an entry that does not decode is a miss and is replaced, never a 500', async () => {
    const messages = fresh();
    await clientA.chat.completions.create({ model: 'm', messages });
    const hit = await clientB.chat.completions.create({ model: 'm', messages }).withResponse();
    const key = hit.response.headers.get('x-litellm-cache-key')!;
    await redisCommand(redis.port, ['SET', key, 'not an entry']);
    const broken = await clientA.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(broken.response.headers.get('x-sluice-cache'), 'miss');
    const again = await clientB.chat.completions.create({ model: 'm', messages }).withResponse();
    assert.equal(again.response.headers.get('x-sluice-cache'), 'hit');
    assert.equal(again.data.id, broken.data.id);
  });

  test('20 identical requests across both instances reach the backend once', async () => {
    const messages = fresh();
    sim.knobs.delayMs = 300;
    try {
      const before = sim.stats.requests;
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? clientA : clientB).chat.completions.create({ model: 'm', messages })));
      assert.equal(sim.stats.requests - before, 1);
      assert.equal(new Set(answers.map((x) => x.id)).size, 1);
    } finally {
      sim.knobs.delayMs = 0;
    }
  });

  test('when the leading instance fails, the other takes over', async () => {
    const messages = fresh();
    sim.knobs.status = 500;
    sim.knobs.delayMs = 200;
    const before = sim.stats.requests;
    try {
      const leader = clientA.chat.completions.create({ model: 'm', messages }).then(
        () => 'ok',
        (error: unknown) => (error instanceof InternalServerError ? 'failed' : String(error)),
      );
      await until('the leader reached the backend', () => sim.stats.requests - before === 1);
      sim.knobs.status = null;
      const followers = await Promise.all(Array.from({ length: 5 }, () => clientB.chat.completions.create({ model: 'm', messages })));
      assert.equal(await leader, 'failed');
      assert.equal(sim.stats.requests - before, 2);
      assert.equal(new Set(followers.map((x) => x.id)).size, 1);
    } finally {
      sim.knobs.status = null;
      sim.knobs.delayMs = 0;
    }
  });

  test('while Redis is frozen requests are served from the backend; once it answers, hits resume', async () => {
    redis.pause();
    try {
      const before = sim.stats.requests;
      for (let i = 0; i < 5; i++) {
        const messages = fresh();
        const answer = await clientA.chat.completions.create({ model: 'm', messages });
        assert.equal(answer.choices[0]!.message.content, 'Shared answer');
      }
      assert.equal(sim.stats.requests - before, 5);
    } finally {
      redis.resume();
    }
    const messages = fresh();
    await untilAsync('hits again after Redis answers', async () => {
      await clientA.chat.completions.create({ model: 'm', messages });
      const second = await clientB.chat.completions.create({ model: 'm', messages }).withResponse();
      return second.response.headers.get('x-sluice-cache') === 'hit';
    });
  });

  test('while Redis is down requests are served; after a restart the cache works again', async () => {
    await redis.stop();
    try {
      const answer = await clientA.chat.completions.create({ model: 'm', messages: fresh() }).withResponse();
      assert.equal(answer.response.status, 200);
      const ping = await fetch(`${a.url}/cache/ping`);
      assert.equal(ping.status, 503);
    } finally {
      await redis.restart();
    }
    const messages = fresh();
    await untilAsync('hits again after the restart', async () => {
      await clientA.chat.completions.create({ model: 'm', messages });
      const second = await clientB.chat.completions.create({ model: 'm', messages }).withResponse();
      return second.response.headers.get('x-sluice-cache') === 'hit';
    });
  });
});

describe('response cache configuration', () => {
  test("LiteLLM's cache settings load without 'ignored' warnings; a semantic type says what runs instead", async () => {
    const sim = await startOpenAISim();
    const gw = await startGateway(`${models(sim)}
litellm_settings:
  cache: True
  cache_type: qdrant-semantic
cache_params: { ttl: 36000, namespace: seed, supported_call_types: [acompletion, arerank] }
`);
    try {
      const warnings = gw.gateway.generation.warnings;
      assert.ok(!warnings.some((w) => /^(cache_params|litellm_settings\.cache)[^:]*: not (a Sluice|acted on)/.test(w)), warnings.join('\n'));
      assert.ok(warnings.some((w) => w.includes('qdrant-semantic is a semantic cache') && w.includes('in memory')), warnings.join('\n'));
      assert.ok(warnings.some((w) => w.includes('arerank not cached yet')), warnings.join('\n'));
      assert.ok(gw.gateway.generation.chain.plugins.some((p) => p.id === 'cache'));
      const first = await post(`${gw.url}/v1/chat/completions`, chat('m'));
      const second = await post(`${gw.url}/v1/chat/completions`, chat('m'));
      assert.equal(first.headers['x-sluice-cache'], 'miss');
      assert.match(String(second.headers['x-litellm-cache-key']), /^seed:[0-9a-f]{64}$/);
      // Embeddings are not among the supported call types here.
      const embed = await post(`${gw.url}/v1/embeddings`, JSON.stringify({ model: 'embed', input: 'x' }));
      assert.equal(embed.status, 200);
      assert.equal(embed.headers['x-sluice-cache'], undefined);
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});

/** Every key in the Redis server, joined into one bulk reply by a script (the RESP helper reads no arrays). */
async function redisKeys(port: number): Promise<string[]> {
  const reply = await redisCommand(port, ['EVAL', "return table.concat(redis.call('KEYS', '*'), '\\n')", '0']);
  const body = reply.slice(reply.indexOf('\r\n') + 2, reply.lastIndexOf('\r\n'));
  return body === '' ? [] : body.split('\n');
}
