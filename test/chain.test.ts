// The plugin chain: phase order, early replies, rejections, failures, and the stream tap through a real listener.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chat, errorOf, json, post, startGateway, type TestGateway } from './helpers.ts';
import { resolveRouterSettings } from '../core/config/router-settings.ts';

// Custom plugins are loaded from files, exactly as users load theirs.
const dir = mkdtempSync(join(tmpdir(), 'sluice-chain-'));
const core = join(import.meta.dirname, '..', 'core', 'plugin', 'api.ts');

writeFileSync(
  join(dir, 'recorder.ts'),
  `import { definePlugin, respond, SluiceError, endStream } from ${JSON.stringify(core)};
export const calls: string[] = [];
(globalThis as Record<string, unknown>).__recorderCalls = calls;
export default definePlugin<{ tag: string }>({
  id: 'test.recorder',
  schema: { type: 'object', required: ['tag'], additionalProperties: false, properties: { tag: { type: 'string' } } },
  create(options) {
    const t = options.tag;
    const rec = (phase: string) => calls.push(t + ':' + phase);
    return {
      onRequest(ctx) { rec('onRequest'); if (ctx.headers['x-reply'] === t) return respond(299, { answered_by: t }); },
      authenticate(ctx) { rec('authenticate'); if (ctx.headers['x-reject'] === t) throw new SluiceError('SLUICE_UNAUTHORIZED', 'no key'); },
      async admit(ctx) { rec('admit'); await new Promise((r) => setTimeout(r, 1)); if (ctx.headers['x-crash'] === t) throw new Error('boom'); },
      guardRequest() { rec('guardRequest'); },
      upstreamRequest(ctx) { rec('upstreamRequest'); ctx.upstreamHeaders['x-added-by-' + t] = '1'; },
      onResponseHeaders(ctx, head) { rec('onResponseHeaders:' + head.status); ctx.responseHeaders['x-seen-by-' + t] = 'yes'; },
      onResponseEvent(ctx, event) {
        rec('event');
        if (ctx.headers['x-stop'] === t && event.index === 2) {
          return endStream(new SluiceError('SLUICE_PLUGIN_FAILED', 'stopped'), { choices: [{ index: 0, delta: {}, finish_reason: 'content_filter' }] });
        }
      },
      onResponseEnd() { rec('onResponseEnd'); },
      onError(_ctx, error) { rec('onError:' + error.code); },
      onAbort() { rec('onAbort'); },
      log(ctx) { rec('log:' + ctx.outcome); },
    };
  },
});
`,
);
writeFileSync(
  join(dir, 'header-router.ts'),
  `import { definePlugin } from ${JSON.stringify(core)};
export default definePlugin({
  id: 'test.header_router',
  create() {
    return { route(ctx, candidates) { return candidates.find((d) => d.id === ctx.headers['x-deployment']); } };
  },
});
`,
);

function calls(): string[] {
  return (globalThis as Record<string, unknown>).__recorderCalls as string[];
}

describe('plugin chain', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway(
      `
plugins:
  - { path: ./recorder.ts, options: { tag: a } }
  - ./header-router.ts
  - { path: ./header-router.ts }
  - route.round_robin
  - { path: ./recorder.ts, options: { tag: b } }
model_list:
  - model_name: m
    litellm_params: { model: mock/m, mock_tokens: 4 }
    model_info: { id: first }
  - model_name: m
    litellm_params: { model: mock/m2, mock_tokens: 4 }
    model_info: { id: second }
`.replace('  - ./header-router.ts\n', ''),
      { dir },
    );
  });
  after(() => gw.close());

  test('phases run in lifecycle order, each plugin in chain order', async () => {
    calls().length = 0;
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-seen-by-a'], 'yes');
    assert.equal(res.headers['x-seen-by-b'], 'yes');
    const phases = ['onRequest', 'authenticate', 'admit', 'guardRequest', 'upstreamRequest', 'onResponseHeaders:200', 'onResponseEnd', 'log:ok'];
    assert.deepEqual(calls(), phases.flatMap((p) => [`a:${p}`, `b:${p}`]));
  });

  test('a reply from onRequest answers the client and stops the chain', async () => {
    calls().length = 0;
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'), { 'x-reply': 'a' });
    assert.equal(res.status, 299);
    assert.deepEqual(json(res), { answered_by: 'a' });
    assert.deepEqual(calls(), ['a:onRequest', 'a:log:replied', 'b:log:replied']);
  });

  test('a SluiceError thrown by a hook becomes its error response and runs onError', async () => {
    calls().length = 0;
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'), { 'x-reject': 'b' });
    assert.equal(res.status, 401);
    assert.equal(errorOf(res).code, 'invalid_api_key');
    assert.ok(calls().includes('a:onError:SLUICE_UNAUTHORIZED'));
    assert.ok(!calls().some((c) => c.includes('admit')));
  });

  test('an unexpected exception in an async hook is a 500 plugin_error naming the plugin, and serving goes on', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'), { 'x-crash': 'a' });
    assert.equal(res.status, 500);
    assert.equal(errorOf(res).code, 'plugin_error');
    assert.match(errorOf(res).message, /test\.recorder/);
    const ok = await post(`${gw.url}/v1/chat/completions`, chat('m'));
    assert.equal(ok.status, 200);
  });

  test('the first routing plugin that decides wins; one that declines passes to the next', async () => {
    const picked = await post(`${gw.url}/v1/chat/completions`, chat('m'), { 'x-deployment': 'second' });
    assert.equal(json(picked)['model'], 'm2');
    const seen = new Set<unknown>();
    for (let i = 0; i < 4; i++) seen.add(json(await post(`${gw.url}/v1/chat/completions`, chat('m')))['model']);
    assert.deepEqual([...seen].sort(), ['m', 'm2']);
  });

  test('every SSE event reaches the tap hooks and a stop ends the stream with a final event and [DONE]', async () => {
    calls().length = 0;
    const full = await post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true }));
    const events = full.body.toString().split('\n\n').filter((e) => e !== '');
    assert.equal(calls().filter((c) => c === 'a:event').length, events.length);

    calls().length = 0;
    const stopped = await post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true }), { 'x-stop': 'b' });
    const parts = stopped.body.toString().split('\n\n').filter((e) => e !== '');
    assert.equal(parts.length, 4, 'two events, the final event, [DONE]');
    assert.match(parts[2]!, /"finish_reason":"content_filter"/);
    assert.equal(parts[3], 'data: [DONE]');
    assert.ok(calls().includes('a:onError:SLUICE_PLUGIN_FAILED'));
    assert.ok(calls().includes('b:log:error'));
  });

  test('upstreamRequest hooks add headers to the upstream request', async () => {
    calls().length = 0;
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'));
    assert.equal(res.status, 200);
    assert.ok(calls().includes('b:upstreamRequest'));
  });
});

describe('chain configuration', () => {
  test('a chain without a routing plugin is refused at load', async () => {
    await assert.rejects(
      startGateway(`plugins: [log.access]\nmodel_list: [{model_name: m, litellm_params: {model: mock/m}}]`),
      /no routing plugin/,
    );
  });

  test('plugin options are validated by the plugin schema, every error at once', async () => {
    await assert.rejects(
      startGateway(
        `plugins:
  - route.round_robin
  - { path: ./recorder.ts, options: { tag: [1], extra: 1 } }
  - { path: ./recorder.ts }
  - no.such_plugin
  - { path: ./missing.ts }
model_list: []`,
        { dir },
      ),
      (error: Error & { errors?: string[] }) => {
        const text = (error.errors ?? []).join('\n');
        assert.match(text, /plugins\[1\].*options\.tag: must be string/);
        assert.match(text, /plugins\[1\].*options\.extra: unknown key/);
        assert.match(text, /plugins\[2\].*must have required property 'tag'/);
        assert.match(text, /plugins\[3\].*unknown plugin "no.such_plugin"/);
        assert.match(text, /plugins\[4\].*cannot load/);
        return true;
      },
    );
  });
});

describe('default chain', () => {
  test("without plugins:, LiteLLM's default router (simple-shuffle) and active health checks", async () => {
    const gw = await startGateway('model_list: [{model_name: m, litellm_params: {model: mock/m}}]');
    try {
      assert.deepEqual(gw.gateway.generation.chain.plugins.map((p) => p.id), ['route.simple_shuffle', 'health.active']);
    } finally {
      await gw.close();
    }
  });

  for (const [where, yaml] of [
    ['top level', 'load_balancing_config: {strategy: least_busy}'],
    ['router_settings', 'router_settings: {load_balancing_config: {strategy: least_busy}}'],
  ] as const) {
    test(`seed-style load_balancing_config at the ${where} picks the router instead of shuffle`, async () => {
      const gw = await startGateway(`${yaml}\nmodel_list: [{model_name: m, litellm_params: {model: mock/m}}]`);
      try {
        assert.deepEqual(gw.gateway.generation.chain.plugins.map((p) => p.id), ['route.least_busy', 'health.active']);
        assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status, 200);
      } finally {
        await gw.close();
      }
    });
  }

  test('routing_strategy wins over load_balancing_config; its other keys warn', () => {
    const resolved = resolveRouterSettings({ routing_strategy: 'latency-based-routing', load_balancing_config: { strategy: 'least_busy', ttl: 5 } }, null, null);
    assert.equal(resolved.settings.routingStrategy, 'latency-based-routing');
    assert.deepEqual(resolved.warnings, ['router_settings.load_balancing_config.ttl: not acted on yet; ignored']);
    assert.equal(resolveRouterSettings(null, null, null, { strategy: 'least_busy' }).settings.routingStrategy, 'least_busy');
    assert.deepEqual(resolveRouterSettings(null, null, null, 'least_busy').errors, ['load_balancing_config: must be a mapping like {strategy: least_busy}']);
  });

  test('router_settings.routing_strategy picks the router by its LiteLLM name', async () => {
    const gw = await startGateway('router_settings: {routing_strategy: latency-based-routing}\nmodel_list: [{model_name: m, litellm_params: {model: mock/m}}]');
    try {
      assert.deepEqual(gw.gateway.generation.chain.plugins.map((p) => p.id), ['route.latency_based', 'health.active']);
      assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('m'))).status, 200);
    } finally {
      await gw.close();
    }
  });
});
