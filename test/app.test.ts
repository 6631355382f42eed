// The App outlives its config: a new generation is swapped in by one assignment, requests in flight finish on the
// generation they started on, and router state carries over.

import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { App } from '../core/app.ts';
import { parseConfig } from '../core/config/load.ts';
import { createLogger } from '../core/logger.ts';
import { definePlugin, respond, type ModuleSet, type PluginModule } from '../core/plugin/api.ts';
import { listen, type Listening } from '../core/server/listener.ts';
import { STANDARD_MODULES } from '../plugins/standard.ts';
import { chat, post, ROOT } from './helpers.ts';

/** Which generation closed the books on each request, by path and model. */
const logged: string[] = [];
const recorder = definePlugin<{ tag: string }>({
  id: 'test.generation_tag',
  schema: { type: 'object', required: ['tag'], properties: { tag: { type: 'string' } } },
  create: (options) => ({
    log: (ctx) => void logged.push(`${options.tag} ${ctx.model} ${ctx.status}`),
    routes: [{ method: 'GET', path: '/generation', auth: false, handle: () => respond(200, { tag: options.tag }) }],
  }),
});
const modules: ModuleSet = {
  ...STANDARD_MODULES,
  plugins: { ...STANDARD_MODULES.plugins, 'test.generation_tag': async (): Promise<PluginModule> => ({ default: recorder as PluginModule['default'] }) },
};

const configFor = (tag: string, model: string, apiBase: string): string => `
plugins:
  - route.round_robin
  - { name: test.generation_tag, options: { tag: ${tag} } }
model_list:
  - model_name: ${model}
    litellm_params: { model: openai/m, api_base: ${apiBase} }
    model_info: { id: ${model}-backend }
`;

describe('generations', () => {
  /** A backend that sends the first SSE event of every stream at once and the rest only when released. */
  const held: ServerResponse[] = [];
  const backend = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"choices":[{"index":0,"delta":{"content":"first"}}]}\n\n');
    held.push(res);
  });
  const release = (): void => {
    for (const res of held.splice(0)) res.end('data: {"choices":[{"index":0,"delta":{"content":" last"}}]}\n\ndata: [DONE]\n\n');
  };
  let base: string;
  let app: App;
  let listening: Listening;
  let url: string;

  before(async () => {
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/v1`;
    app = await App.create(parseConfig(configFor('g1', 'one', base), `${ROOT}/test-config.yaml`, {}), modules, createLogger('silent'));
    listening = await listen(app, 0, '127.0.0.1');
    url = `http://127.0.0.1:${listening.port}`;
  });
  after(async () => {
    release();
    await listening.close(1000);
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  test('a swap is one assignment: new requests see the new config, a stream in flight finishes on its own', async () => {
    const first = app.generation;
    const inFlight = post(`${url}/v1/chat/completions`, chat('one', { stream: true }));
    await until(() => held.length === 1);
    const state = app.state;
    const now = Date.now();
    state.coolDown('one-backend', now + 60_000, 'test', now);

    const next = await app.load(parseConfig(configFor('g2', 'two', base), `${ROOT}/test-config.yaml`, {}));
    assert.equal(app.generation, first, 'load alone changes nothing live');
    assert.equal(app.swap(next), first);
    assert.equal(app.generation, next);

    assert.equal((await post(`${url}/v1/chat/completions`, chat('one'))).status, 404, 'the old model group is gone for new requests');
    const tag = await fetch(`${url}/generation`).then((r) => r.json());
    assert.deepEqual(tag, { tag: 'g2' }, "plugin routes are the new generation's");

    release();
    const streamed = await inFlight;
    assert.equal(streamed.status, 200);
    assert.match(streamed.body.toString(), /first[\s\S]*last[\s\S]*\[DONE\]/);
    assert.ok(logged.includes('g1 one 200'), `the request that started on g1 ended on g1 (${logged.join(', ')})`);
    assert.ok(logged.includes('g2 one 404'));
    assert.equal(app.state, state, 'router state outlives the generation');
    assert.equal(app.state.unavailable('one-backend', now), 'cooldown', 'health and cooldowns carry over');
    await first.close();
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(condition(), 'condition not met');
}
