// Unit tests of the cache's parts: the key rule, the request controls, the byte-bounded LRU, the entry encoding,
// LiteLLM's settings, and the hooks themselves on a fake clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError, type PluginEntry, type ResponseBody } from '../../core/plugin/api.ts';
import { fakeContext, fakeDeps, modelGroups } from '../../core/plugin/testing.ts';
import { parseControls } from './controls.ts';
import { decodeEntry, encodeEntry, type CacheEntry } from './entry.ts';
import { createCache } from './index.ts';
import { cacheKey, canonicalJson } from './key.ts';
import { MemoryCacheStore } from './memory-store.ts';
import { cacheEntries } from './settings.ts';

const base = { endpoint: 'chat', group: 'g', stream: false, namespace: null } as const;
const messages = [{ role: 'user', content: 'hi' }];

describe('cache key', () => {
  test('user, metadata, the controls and key order do not change it; model is the group', () => {
    const key = cacheKey({ ...base, body: { model: 'g', messages, temperature: 0 } });
    const same = cacheKey({
      ...base,
      body: { temperature: 0, cache: { ttl: 5 }, user: 'u', metadata: { a: 1 }, messages, model: 'an-alias-of-g' },
    });
    assert.equal(same, key);
    assert.match(key, /^[0-9a-f]{64}$/);
  });

  test('every parameter that shapes the answer changes it', () => {
    const key = cacheKey({ ...base, body: { model: 'g', messages } });
    const variants = [
      { ...base, body: { model: 'g', messages, temperature: 1 } },
      { ...base, body: { model: 'g', messages: [{ role: 'user', content: 'hi!' }] } },
      { ...base, body: { model: 'g', messages, tools: [] } },
      { ...base, group: 'h', body: { model: 'g', messages } },
      { ...base, endpoint: 'completions', body: { model: 'g', messages } },
      { ...base, stream: true, body: { model: 'g', messages, stream: true } },
    ];
    const keys = new Set(variants.map((v) => cacheKey(v)));
    assert.equal(keys.size, variants.length);
    assert.ok(!keys.has(key));
  });

  test('stream: false and no stream are one question; stream_options count only for streams', () => {
    assert.equal(cacheKey({ ...base, body: { model: 'g', messages, stream: false } }), cacheKey({ ...base, body: { model: 'g', messages } }));
    assert.equal(
      cacheKey({ ...base, body: { model: 'g', messages, stream_options: { include_usage: true } } }),
      cacheKey({ ...base, body: { model: 'g', messages } }),
    );
    const streamed = { ...base, stream: true };
    assert.notEqual(
      cacheKey({ ...streamed, body: { model: 'g', messages, stream_options: { include_usage: true } } }),
      cacheKey({ ...streamed, body: { model: 'g', messages } }),
    );
  });

  test('a namespace prefixes the key', () => {
    const plain = cacheKey({ ...base, body: { model: 'g', messages } });
    assert.equal(cacheKey({ ...base, namespace: 'team', body: { model: 'g', messages } }), `team:${plain}`);
  });

  test('canonical JSON sorts keys at every depth', () => {
    assert.equal(canonicalJson({ b: [{ y: 1, x: 2 }], a: null, c: undefined }), '{"a":null,"b":[{"x":2,"y":1}]}');
  });
});

describe('cache controls', () => {
  test('LiteLLM names and values', () => {
    assert.deepEqual(parseControls({ 'no-cache': true, 'no-store': false, ttl: 1.5, 's-maxage': 0, namespace: 'n', 'use-cache': true }), {
      noCache: true,
      noStore: false,
      ttl: 1.5,
      sMaxAge: 0,
      namespace: 'n',
      useCache: true,
    });
    assert.equal(parseControls(undefined).noCache, false);
  });

  test('a value of the wrong type is a 400 naming the parameter', () => {
    const cases: [unknown, string][] = [
      [[], 'cache'],
      ['yes', 'cache'],
      [{ 'no-cache': 1 }, 'cache.no-cache'],
      [{ 'no-store': 'true' }, 'cache.no-store'],
      [{ ttl: 0 }, 'cache.ttl'],
      [{ ttl: '60' }, 'cache.ttl'],
      [{ 's-maxage': -1 }, 'cache.s-maxage'],
      [{ namespace: '' }, 'cache.namespace'],
    ];
    for (const [value, param] of cases) {
      assert.throws(
        () => parseControls(value),
        (error: unknown) => error instanceof SluiceError && error.status === 400 && error.param === param,
        JSON.stringify(value),
      );
    }
  });
});

function entry(bytes: number, storedAt = 0): CacheEntry {
  return { kind: 'json', contentType: 'application/json', storedAt, body: Buffer.alloc(bytes, 0x61) };
}

describe('memory store', () => {
  test('stays within its byte bound, dropping the least recently used first', () => {
    const store = new MemoryCacheStore(4096, () => 0);
    store.set('a', entry(1000), 60_000);
    store.set('b', entry(1000), 60_000);
    store.set('c', entry(1000), 60_000);
    assert.ok(store.get('a') !== null); // a is now the most recently used
    store.set('d', entry(1000), 60_000);
    assert.ok(store.bytes <= 4096, `${store.bytes} bytes`);
    assert.equal(store.get('b'), null);
    assert.ok(store.get('a') !== null && store.get('c') !== null && store.get('d') !== null);
  });

  test('an entry larger than the bound is not stored and evicts nothing', () => {
    const store = new MemoryCacheStore(4096, () => 0);
    store.set('a', entry(100), 60_000);
    store.set('huge', entry(5000), 60_000);
    assert.equal(store.get('huge'), null);
    assert.ok(store.get('a') !== null);
  });

  test('replacing a key accounts its bytes once; entries expire on the clock', async () => {
    let now = 1000;
    const store = new MemoryCacheStore(1 << 20, () => now);
    store.set('a', entry(100), 500);
    const once = store.bytes;
    store.set('a', entry(100), 500);
    assert.equal(store.bytes, once);
    now += 499;
    assert.ok(store.get('a') !== null);
    now += 1;
    assert.equal(store.get('a'), null);
    assert.equal(store.bytes, 0);
    store.set('b', entry(10), 500);
    assert.equal(await store.delete(['b', 'missing']), 1);
    assert.equal(store.size, 0);
  });
});

describe('entry encoding', () => {
  test('round trip, and anything else decodes to null', () => {
    const original: CacheEntry = { kind: 'sse', contentType: 'text/event-stream', storedAt: 42, body: Buffer.from('data: {"a":1}\n\ndata: [DONE]\n\n') };
    const decoded = decodeEntry(encodeEntry(original))!;
    assert.equal(decoded.kind, 'sse');
    assert.equal(decoded.storedAt, 42);
    assert.equal(decoded.contentType, 'text/event-stream');
    assert.ok(decoded.body.equals(original.body));
    for (const junk of ['', 'not an entry', '{"v":2,"k":"json","ct":"x","t":1}\nbody', '{"v":1,"k":"xml","ct":"x","t":1}\n', '{broken\n']) {
      assert.equal(decodeEntry(Buffer.from(junk)), null, junk);
    }
  });
});

function optionsOf(entry: PluginEntry | undefined): { type?: string } {
  assert.ok(typeof entry === 'object' && 'options' in entry);
  return entry.options as { type?: string };
}

describe("LiteLLM's settings", () => {
  test('litellm_settings.cache with cache_params becomes the cache entry', () => {
    const { entries, warnings } = cacheEntries(
      { cache: true, cache_params: { type: 'redis', host: 'r', port: 6380, password: 'pw', ttl: 36000, namespace: 'n', supported_call_types: ['acompletion', 'aembedding'] } },
      {},
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(entries, [
      { name: 'cache', options: { type: 'redis', ttl: 36000, namespace: 'n', supported_call_types: ['acompletion', 'aembedding'], redis: { host: 'r', port: 6380, password: 'pw' } } },
    ]);
  });

  test('a top-level cache_params is read; litellm_settings.cache_params wins over it', () => {
    const { entries } = cacheEntries({ cache: true, cache_params: { ttl: 5 } }, { cache_params: { type: 'local', ttl: 10, namespace: 'top' } });
    assert.deepEqual(entries[0], { name: 'cache', options: { type: 'local', ttl: 5, namespace: 'top' } });
  });

  test('cache_type and cache_kwargs; Redis from the redis: section when the params name none', () => {
    const { entries } = cacheEntries({ cache: true, cache_type: 'redis', cache_kwargs: { ttl: 60 } }, { redis: { url: 'redis://x:6379/2' } });
    assert.deepEqual(entries[0], { name: 'cache', options: { type: 'redis', ttl: 60, redis: { url: 'redis://x:6379/2' } } });
  });

  test('without a type: memory unless a Redis is named', () => {
    assert.equal(optionsOf(cacheEntries({ cache: true }, {}).entries[0]).type, 'local');
    assert.equal(optionsOf(cacheEntries({ cache: true }, { redis: { host: 'r' } }).entries[0]).type, 'redis');
  });

  test('semantic types load with a clear warning; unknown keys are reported', () => {
    const { entries, warnings } = cacheEntries({ cache: true, cache_params: { type: 'redis-semantic', similarity_threshold: 0.8, host: 'r' } }, {});
    assert.equal(optionsOf(entries[0]).type, 'redis');
    assert.match(warnings[0]!, /litellm_settings\.cache_params\.type: redis-semantic is a semantic cache.*exact-match cache in Redis/);
    assert.equal(warnings[1], 'litellm_settings.cache_params.similarity_threshold: not acted on yet; ignored');
  });

  test('cache_params without cache: true caches nothing and says so; a plugins: list with cache wins', () => {
    const off = cacheEntries({}, { cache_params: { type: 'redis' } });
    assert.deepEqual(off.entries, []);
    assert.match(off.warnings[0]!, /^cache_params: litellm_settings\.cache is not true/);
    assert.deepEqual(cacheEntries({ cache: true }, { plugins: ['route.round_robin', { name: 'cache', options: {} }] }).entries, []);
    const both = cacheEntries({ cache: true, cache_params: { ttl: 5 } }, { plugins: ['cache'] });
    assert.deepEqual(both.entries, []);
    assert.match(both.warnings[0]!, /^litellm_settings\.cache_params: plugins: lists cache/);
  });
});

describe('cache hooks', () => {
  const groups = modelGroups([{ model_name: 'g', litellm_params: { model: 'mock/a' } }]);
  const answer = Buffer.from('{"id":"chatcmpl-1","choices":[]}');

  async function serve(plugin: Awaited<ReturnType<typeof createCache>>, body: Record<string, unknown>): Promise<'hit' | 'miss'> {
    const ctx = fakeContext({ body, group: groups.get('g')! });
    const reply = await plugin.upstreamRequest!(ctx);
    if (reply !== undefined) {
      plugin.log!(ctx);
      assert.deepEqual(reply.body, answer);
      return 'hit';
    }
    ctx.upstreamStatus = 200;
    plugin.onResponseHeaders!(ctx, { status: 200, headers: { 'content-type': 'application/json' }, isEventStream: false });
    const held: ResponseBody = { status: 200, raw: answer, json: JSON.parse(answer.toString()) };
    await plugin.onResponseBody!(ctx, held);
    await plugin.onResponseEnd!(ctx);
    plugin.log!(ctx);
    return 'miss';
  }

  test('ttl and s-maxage run on the clock; other client APIs pass by', async () => {
    let now = 1_000_000;
    const plugin = await createCache({ type: 'local', ttl: 10 }, fakeDeps({ groups }), { now: () => now });
    const body = { model: 'g', messages };
    assert.equal(await serve(plugin, body), 'miss');
    assert.equal(await serve(plugin, body), 'hit');
    now += 5000;
    assert.equal(await serve(plugin, { ...body, cache: { 's-maxage': 4 } }), 'miss');
    assert.equal(await serve(plugin, { ...body, cache: { ttl: 1 } }), 'hit');
    now += 10_001;
    // The entry the s-maxage miss stored (at +5 s) has expired too.
    assert.equal(await serve(plugin, body), 'miss');
    const ollama = fakeContext({ body, group: groups.get('g')!, path: '/api/chat' });
    Object.defineProperty(ollama, 'api', { value: 'ollama' });
    assert.equal(await plugin.upstreamRequest!(ollama), undefined);
    assert.equal(plugin.flights.size, 0);
    await plugin.close!();
  });

  test('default_off caches only requests that opt in', async () => {
    const plugin = await createCache({ type: 'local', mode: 'default_off' }, fakeDeps({ groups }));
    const body = { model: 'g', messages };
    assert.equal(await serve(plugin, body), 'miss');
    assert.equal(await serve(plugin, body), 'miss');
    assert.equal(await serve(plugin, { ...body, cache: { 'use-cache': true } }), 'miss');
    assert.equal(await serve(plugin, { ...body, cache: { 'use-cache': true } }), 'hit');
    await plugin.close!();
  });
});
