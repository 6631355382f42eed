// Checks the simulators themselves over real sockets, so gateway tests can trust what they are compared against.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOpenAISim } from './openai-sim.ts';
import type { Sim } from './openai-sim.ts';
import { startOllamaSim } from './ollama-sim.ts';

type Json = Record<string, any>;

function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal !== undefined && { signal }),
  });
}

/** SSE payloads in order, [DONE] included as the string. */
function sseEvents(text: string): string[] {
  const events = text.split('\n\n');
  assert.equal(events.pop(), '', 'stream ends with a blank line');
  return events.map((e) => {
    assert.ok(e.startsWith('data: '), `event framing: ${e}`);
    return e.slice(6);
  });
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

async function withSim(options: Parameters<typeof startOpenAISim>[0], fn: (sim: Sim) => Promise<void>): Promise<void> {
  const sim = await startOpenAISim(options);
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

const chatBody = { model: 'gpt-test', messages: [{ role: 'user', content: 'Say something short please' }] };

test('openai: chat JSON has the exact shape of the real API', () =>
  withSim({}, async (sim) => {
    const res = await post(`${sim.url}/v1/chat/completions`, chatBody);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as Json;
    assert.match(body.id, /^chatcmpl-/);
    assert.equal(body.object, 'chat.completion');
    assert.equal(typeof body.created, 'number');
    assert.equal(body.model, 'gpt-test');
    assert.equal(typeof body.system_fingerprint, 'string');
    assert.deepEqual(body.choices, [
      { index: 0, message: { role: 'assistant', content: 'tok0 tok1 tok2 tok3 tok4', refusal: null }, logprobs: null, finish_reason: 'stop' },
    ]);
    assert.equal(body.usage.completion_tokens, 5);
    assert.ok(body.usage.prompt_tokens > 0);
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + 5);
    assert.deepEqual(Object.keys(body), ['id', 'object', 'created', 'model', 'system_fingerprint', 'choices', 'usage']);

    assert.equal(sim.stats.requests, 1);
    assert.equal(sim.stats.lastRequest?.method, 'POST');
    assert.equal(sim.stats.lastRequest?.path, '/v1/chat/completions');
    assert.equal(sim.stats.lastRequest?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(sim.stats.lastRequest?.body ?? ''), chatBody);
  }));

test('openai: text knob sets the answer and knobs apply per request', () =>
  withSim({ text: 'hello brave new world' }, async (sim) => {
    let body = (await (await post(`${sim.url}/v1/chat/completions`, chatBody)).json()) as Json;
    assert.equal(body.choices[0].message.content, 'hello brave new world');
    assert.equal(body.usage.completion_tokens, 4);
    sim.knobs.text = null;
    sim.knobs.tokens = 2;
    body = (await (await post(`${sim.url}/v1/chat/completions`, chatBody)).json()) as Json;
    assert.equal(body.choices[0].message.content, 'tok0 tok1');
  }));

test('openai: chat SSE sequence, without and with include_usage', () =>
  withSim({ tokens: 3 }, async (sim) => {
    const res = await post(`${sim.url}/v1/chat/completions`, { ...chatBody, stream: true });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const events = sseEvents(await res.text());
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Json);
    assert.equal(chunks.length, 1 + 3 + 1);
    for (const c of chunks) {
      assert.deepEqual(Object.keys(c), ['id', 'object', 'created', 'model', 'system_fingerprint', 'choices']);
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.id, chunks[0]!.id);
      assert.equal(c.model, 'gpt-test');
    }
    assert.deepEqual(chunks[0]!.choices, [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    assert.deepEqual(
      chunks.slice(1, 4).map((c) => c.choices[0].delta),
      [{ content: 'tok0 ' }, { content: 'tok1 ' }, { content: 'tok2' }],
    );
    assert.deepEqual(chunks[4]!.choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);

    const withUsage = await post(`${sim.url}/v1/chat/completions`, { ...chatBody, stream: true, stream_options: { include_usage: true } });
    const ev2 = sseEvents(await withUsage.text());
    assert.equal(ev2.at(-1), '[DONE]');
    const c2 = ev2.slice(0, -1).map((e) => JSON.parse(e) as Json);
    assert.equal(c2.length, 1 + 3 + 1 + 1);
    for (const c of c2.slice(0, -1)) assert.equal(c.usage, null);
    const last = c2.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 3);
    assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + 3);
  }));

test('openai: legacy completions, JSON and SSE', () =>
  withSim({ tokens: 2 }, async (sim) => {
    const json = (await (await post(`${sim.url}/v1/completions`, { model: 'inst', prompt: 'Once' })).json()) as Json;
    assert.equal(json.object, 'text_completion');
    assert.match(json.id, /^cmpl-/);
    assert.deepEqual(json.choices, [{ text: 'tok0 tok1', index: 0, logprobs: null, finish_reason: 'stop' }]);

    const res = await post(`${sim.url}/v1/completions`, { model: 'inst', prompt: 'Once', stream: true, stream_options: { include_usage: true } });
    const events = sseEvents(await res.text());
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Json);
    assert.deepEqual(
      chunks.map((c) => c.choices[0]?.text ?? null),
      ['tok0 ', 'tok1', '', null],
    );
    assert.equal(chunks[2]!.choices[0].finish_reason, 'stop');
    assert.equal(chunks[3]!.usage.completion_tokens, 2);
  }));

test('openai: chunk interval spaces the chunks and stampChunks marks send times', () =>
  withSim({ tokens: 3, chunkIntervalMs: 30, stampChunks: true }, async (sim) => {
    const started = performance.timeOrigin + performance.now();
    const res = await post(`${sim.url}/v1/chat/completions`, { ...chatBody, stream: true });
    const chunks = sseEvents(await res.text())
      .slice(0, -1)
      .map((e) => JSON.parse(e) as Json);
    const stamps = chunks.map((c) => c.sim_sent_at as number);
    assert.ok(stamps.every((s) => typeof s === 'number' && s >= started - 1));
    // role, 3 tokens, then the finish chunk: four gaps of one interval (timers may fire a little early).
    assert.ok(stamps.at(-1)! - stamps[0]! >= 4 * 30 - 10, `spread ${stamps.at(-1)! - stamps[0]!}`);
  }));

test('openai: delayMs holds back the response headers', () =>
  withSim({ delayMs: 60_000 }, async (sim) => {
    // A minute's delay: once the sim has the request, nothing comes back while the test looks.
    const ac = new AbortController();
    let answered = false;
    const held = fetch(`${sim.url}/health`, { signal: ac.signal }).then(() => (answered = true));
    await until(() => sim.stats.lastRequest !== null);
    await sleep(50);
    assert.equal(answered, false, 'no response headers during the delay');
    ac.abort();
    await assert.rejects(held);
    await until(() => sim.stats.aborts === 1);
    // Once the delay is over, the answer comes.
    sim.knobs.delayMs = 1;
    const res = await fetch(`${sim.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  }));

test('openai: status knob answers the error shape, with Retry-After on 429', () =>
  withSim({ status: 429, retryAfterSec: 7 }, async (sim) => {
    let res = await post(`${sim.url}/v1/chat/completions`, chatBody);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    let body = (await res.json()) as Json;
    assert.deepEqual(Object.keys(body.error), ['message', 'type', 'param', 'code']);
    assert.equal(body.error.param, null);
    assert.equal(body.error.code, 'rate_limit_exceeded');

    sim.knobs.status = 500;
    res = await post(`${sim.url}/v1/chat/completions`, { ...chatBody, stream: true });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('retry-after'), null);
    body = (await res.json()) as Json;
    assert.equal(body.error.type, 'server_error');

    sim.knobs.status = 400;
    body = (await (await post(`${sim.url}/v1/embeddings`, { input: 'x' })).json()) as Json;
    assert.equal(body.error.type, 'invalid_request_error');

    sim.knobs.status = null;
    assert.equal((await post(`${sim.url}/v1/chat/completions`, chatBody)).status, 200);
  }));

test('openai: unknown path is a 404 and invalid JSON a 400, both OpenAI-shaped', () =>
  withSim({}, async (sim) => {
    let res = await post(`${sim.url}/v1/nothing`, {});
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as Json).error.message, 'Invalid URL (POST /v1/nothing)');
    res = await post(`${sim.url}/v1/chat/completions`, '{"model": ');
    assert.equal(res.status, 400);
    const body = (await res.json()) as Json;
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(body.error.param, null);
  }));

test('openai: dropAfterChunks cuts the stream without [DONE], and is not counted as an abort', () =>
  withSim({ tokens: 10, dropAfterChunks: 3 }, async (sim) => {
    const res = await post(`${sim.url}/v1/chat/completions`, { ...chatBody, stream: true });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    });
    const events = text.split('\n\n').filter((e) => e !== '');
    assert.equal(events.length, 3);
    assert.ok(!text.includes('[DONE]'));

    // Zero drops right after the headers.
    sim.knobs.dropAfterChunks = 0;
    const bare = await post(`${sim.url}/v1/chat/completions`, { ...chatBody, stream: true });
    assert.equal(bare.status, 200);
    await assert.rejects(bare.text());

    // Non-stream: the full content-length is announced, half the body arrives.
    const json = await post(`${sim.url}/v1/chat/completions`, chatBody);
    assert.equal(json.status, 200);
    await assert.rejects(json.text());
    assert.equal(sim.stats.aborts, 0);
  }));

test('openai: client abort mid-stream is counted and stops the stream', () =>
  withSim({ tokens: 50, chunkIntervalMs: 20 }, async (sim) => {
    const ac = new AbortController();
    const res = await post(`${sim.url}/v1/chat/completions`, { ...chatBody, stream: true }, ac.signal);
    const reader = res.body!.getReader();
    await reader.read();
    const before = performance.timeOrigin + performance.now();
    ac.abort();
    await until(() => sim.stats.aborts === 1);
    assert.equal(sim.stats.abortTimes.length, 1);
    assert.ok(sim.stats.abortTimes[0]! >= before - 1);
    // Completed requests do not count.
    await (await post(`${sim.url}/v1/chat/completions`, chatBody)).json();
    await sleep(30);
    assert.equal(sim.stats.aborts, 1);
    assert.equal(sim.stats.requests, 2);
  }));

test('openai: abort while waiting for the delay is counted too', () =>
  withSim({ delayMs: 5000 }, async (sim) => {
    const ac = new AbortController();
    const pending = post(`${sim.url}/v1/chat/completions`, chatBody, ac.signal);
    await until(() => sim.stats.lastRequest !== null);
    ac.abort();
    await assert.rejects(pending);
    await until(() => sim.stats.aborts === 1);
  }));

test('openai: embeddings give one deterministic 8-float vector per input', () =>
  withSim({}, async (sim) => {
    const res = await post(`${sim.url}/v1/embeddings`, { model: 'emb', input: ['alpha', 'beta', 'alpha'] });
    const body = (await res.json()) as Json;
    assert.equal(body.object, 'list');
    assert.equal(body.model, 'emb');
    assert.equal(body.data.length, 3);
    body.data.forEach((d: Json, i: number) => {
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, 8);
    });
    assert.deepEqual(body.data[0].embedding, body.data[2].embedding);
    assert.notDeepEqual(body.data[0].embedding, body.data[1].embedding);
    assert.ok(body.usage.prompt_tokens > 0);

    const single = (await (await post(`${sim.url}/v1/embeddings`, { model: 'emb', input: 'alpha', encoding_format: 'base64' })).json()) as Json;
    assert.equal(single.data.length, 1);
    const bytes = Buffer.from(single.data[0].embedding as string, 'base64');
    assert.deepEqual(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 8)), body.data[0].embedding);
  }));

test('openai: /v1/models lists sim-model plus the models seen', () =>
  withSim({}, async (sim) => {
    await (await post(`${sim.url}/v1/chat/completions`, { ...chatBody, model: 'seen-1' })).json();
    const body = (await (await fetch(`${sim.url}/v1/models`)).json()) as Json;
    assert.equal(body.object, 'list');
    assert.deepEqual(
      body.data.map((m: Json) => m.id),
      ['sim-model', 'seen-1'],
    );
    assert.deepEqual(Object.keys(body.data[0]), ['id', 'object', 'created', 'owned_by']);
  }));

// The stream would run for 1000 minutes: close() resolving at all (the timeout only catches a hang) shows it does
// not wait for open streams.
test('openai: close() ends open streams promptly and does not count them as aborts', { timeout: 20_000 }, async () => {
  const sim = await startOpenAISim({ tokens: 1000, chunkIntervalMs: 60_000 });
  const res = await post(`${sim.url}/v1/chat/completions`, { ...chatBody, stream: true });
  const reader = res.body!.getReader();
  await reader.read();
  await sim.close();
  await assert.rejects(async () => {
    for (;;) if ((await reader.read()).done) return;
  });
  assert.equal(sim.stats.aborts, 0);
});

test('ollama: /api/tags, /api/ps, /api/version and /', async () => {
  const sim = await startOllamaSim({ models: ['llama3.2', 'me/custom:7b'], loaded: ['llama3.2'] });
  try {
    const tags = (await (await fetch(`${sim.url}/api/tags`)).json()) as Json;
    assert.deepEqual(
      tags.models.map((m: Json) => m.name),
      ['llama3.2:latest', 'me/custom:7b'],
    );
    const m = tags.models[0];
    assert.deepEqual(Object.keys(m), ['name', 'model', 'modified_at', 'size', 'digest', 'details']);
    assert.match(m.digest, /^[0-9a-f]{64}$/);
    for (const key of ['format', 'family', 'families', 'parameter_size', 'quantization_level']) assert.ok(key in m.details, key);

    const ps = (await (await fetch(`${sim.url}/api/ps`)).json()) as Json;
    assert.equal(ps.models.length, 1);
    assert.equal(ps.models[0].name, 'llama3.2:latest');
    assert.ok(typeof ps.models[0].expires_at === 'string' && typeof ps.models[0].size_vram === 'number');
    sim.loaded.length = 0;
    assert.deepEqual(((await (await fetch(`${sim.url}/api/ps`)).json()) as Json).models, []);

    assert.equal(typeof ((await (await fetch(`${sim.url}/api/version`)).json()) as Json).version, 'string');
    assert.equal(await (await fetch(`${sim.url}/`)).text(), 'Ollama is running');

    const models = (await (await fetch(`${sim.url}/v1/models`)).json()) as Json;
    assert.deepEqual(
      models.data.map((d: Json) => [d.id, d.owned_by]),
      [
        ['llama3.2:latest', 'library'],
        ['me/custom:7b', 'me'],
      ],
    );
  } finally {
    await sim.close();
  }
});

test('ollama: /api/chat streams NDJSON ending in done:true, or one object with stream:false', async () => {
  const sim = await startOllamaSim({ models: ['llama3.2'], tokens: 3 });
  try {
    const body = { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] };
    const res = await post(`${sim.url}/api/chat`, body);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const text = await res.text();
    assert.ok(text.endsWith('\n'));
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.equal(lines.length, 4);
    assert.deepEqual(
      lines.slice(0, 3).map((l) => [l.message.content, l.done]),
      [
        ['tok0 ', false],
        ['tok1 ', false],
        ['tok2', false],
      ],
    );
    const last = lines[3]!;
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'stop');
    assert.equal(last.model, 'llama3.2');
    assert.equal(last.eval_count, 3);
    for (const k of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_duration']) assert.ok(last[k] > 0, k);

    const one = (await (await post(`${sim.url}/api/chat`, { ...body, stream: false })).json()) as Json;
    assert.deepEqual(one.message, { role: 'assistant', content: 'tok0 tok1 tok2' });
    assert.equal(one.done, true);

    const gen = await post(`${sim.url}/api/generate`, { model: 'llama3.2', prompt: 'hi' });
    const genLines = (await gen.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.equal(genLines.map((l) => l.response).join(''), 'tok0 tok1 tok2');
    assert.ok(Array.isArray(genLines.at(-1)!.context));

    const missing = await post(`${sim.url}/api/chat`, { ...body, model: 'ghost' });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'model "ghost" not found, try pulling it first' });
  } finally {
    await sim.close();
  }
});

test('ollama: OpenAI-compatible chat in Ollama’s flavour', async () => {
  const sim = await startOllamaSim({ models: ['llama3.2'], tokens: 2 });
  try {
    const body = { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] };
    const json = (await (await post(`${sim.url}/v1/chat/completions`, body)).json()) as Json;
    assert.match(json.id, /^chatcmpl-\d+$/);
    assert.equal(json.system_fingerprint, 'fp_ollama');
    assert.equal(json.choices[0].message.content, 'tok0 tok1');

    const res = await post(`${sim.url}/v1/chat/completions`, { ...body, stream: true, stream_options: { include_usage: true } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const events = sseEvents(await res.text());
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Json);
    assert.equal(chunks.length, 2 + 1 + 1);
    assert.deepEqual(chunks[0]!.choices[0].delta, { role: 'assistant', content: 'tok0 ' });
    assert.equal(chunks[2]!.choices[0].finish_reason, 'stop');
    assert.equal(chunks[3]!.usage.completion_tokens, 2);

    const missing = await post(`${sim.url}/v1/chat/completions`, { ...body, model: 'ghost' });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as Json).error.message, 'model "ghost" not found, try pulling it first');

    const emb = (await (await post(`${sim.url}/v1/embeddings`, { model: 'llama3.2', input: ['a', 'b'] })).json()) as Json;
    assert.equal(emb.data.length, 2);
    assert.equal(emb.data[1].embedding.length, 8);
  } finally {
    await sim.close();
  }
});
