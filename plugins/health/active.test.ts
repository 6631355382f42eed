import { fakeDeps } from '../../core/plugin/testing.ts';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { buildModelGroups, type ModelGroup, type ModelListEntry } from '../../core/config/models.ts';
import type { Plugin } from '../../core/plugin/api.ts';
import { BUILTIN_PLUGINS, PLUGIN_ALIASES } from '../standard.ts';
import { MemoryRouterState } from '../../core/state/router-state.ts';
import { chat, post, settles, startGateway } from '../../test/helpers.ts';
import { startOllamaSim } from '../../test/sim/ollama-sim.ts';
import { startOpenAISim, type RecordedRequest, type SimStats } from '../../test/sim/openai-sim.ts';
import factory, { probeTiming, type HealthActiveOptions } from './active.ts';

/** A real MemoryRouterState that also keeps every setHealthy call, in order. */
class RecordingState extends MemoryRouterState {
  readonly calls: { id: string; healthy: boolean; error: string | null }[] = [];
  override setHealthy(id: string, healthy: boolean, error: string | null, now: number): void {
    this.calls.push({ id, healthy, error });
    super.setHealthy(id, healthy, error, now);
  }
  of(id: string): { healthy: boolean; error: string | null }[] {
    return this.calls.filter((c) => c.id === id).map(({ healthy, error }) => ({ healthy, error }));
  }
}

/** Every request a simulator receives, with its arrival time (the sims only keep the last one). */
function recordAll(stats: SimStats): { at: number; req: RecordedRequest }[] {
  const seen: { at: number; req: RecordedRequest }[] = [];
  let last = stats.lastRequest;
  Object.defineProperty(stats, 'lastRequest', {
    configurable: true,
    enumerable: true,
    get: () => last,
    set: (value: RecordedRequest | null) => {
      last = value;
      if (value !== null) seen.push({ at: performance.now(), req: value });
    },
  });
  return seen;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms; fails after `ms` (a deadline for a hang, not a speed limit). */
async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

function groupsOf(entries: ModelListEntry[]): ReadonlyMap<string, ModelGroup> {
  const built = buildModelGroups(entries);
  assert.deepEqual(built.errors, []);
  return built.groups;
}

async function startPlugin(options: HealthActiveOptions, groups: ReadonlyMap<string, ModelGroup>, state: MemoryRouterState): Promise<Plugin> {
  return factory.create(options, fakeDeps({ groups, state }));
}

const FAST = { interval: 0.05, timeout: 1, jitter: 0 } as const;

test('the schema fills in the defaults and refuses unknown keys', () => {
  const validate = new Ajv({ useDefaults: true, strict: false }).compile(factory.schema!);
  const options: Record<string, unknown> = {};
  assert.equal(validate(options), true);
  // interval and timeout have none: absent, they come from LiteLLM's health_check_interval / _timeout.
  assert.deepEqual(options, { rise: 2, fall: 2, jitter: 0.1 });
  assert.equal(validate({ intervall: 1 }), false);
  assert.equal(validate({ interval: 0.01 }), false);
  assert.equal(validate({ path: 'health' }), false);
  assert.equal(validate({ path: '/ready' }), true);
});

test('health.active and its alias health_check are built in', async () => {
  assert.equal(PLUGIN_ALIASES['health_check'], 'health.active');
  const mod = await BUILTIN_PLUGINS['health.active']!();
  assert.equal(mod.default.id, 'health.active');
});

test('each provider is probed at its own path, with GET', async () => {
  const openai = await startOpenAISim();
  const vllm = await startOpenAISim();
  const prefixed = await startOpenAISim();
  const custom = await startOpenAISim();
  const ollama = await startOllamaSim();
  const seen = [openai, vllm, prefixed, custom].map((s) => recordAll(s.stats));
  const ollamaSeen = recordAll(ollama.stats);
  const state = new RecordingState();
  const plugin = await startPlugin(
    FAST,
    groupsOf([
      { model_name: 'a', litellm_params: { model: 'openai/gpt', api_base: openai.url }, model_info: { id: 'openai' } },
      { model_name: 'a', litellm_params: { model: 'hosted_vllm/llama', api_base: `${vllm.url}/v1` }, model_info: { id: 'vllm' } },
      { model_name: 'b', litellm_params: { model: 'openai_like/m', api_base: `${prefixed.url}/openai/v1` }, model_info: { id: 'prefixed' } },
      { model_name: 'c', litellm_params: { model: 'ollama_chat/llama3.2', api_base: ollama.url }, model_info: { id: 'ollama' } },
    ]),
    state,
  );
  const custom2 = await startPlugin(
    { ...FAST, path: '/ready' },
    groupsOf([{ model_name: 'd', litellm_params: { model: 'hosted_vllm/x', api_base: custom.url }, model_info: { id: 'custom' } }]),
    new MemoryRouterState(),
  );
  try {
    await until('every backend was probed', () => seen.every((s) => s.length > 0) && ollamaSeen.length > 0);
    const first = (list: { req: RecordedRequest }[]): string => `${list[0]!.req.method} ${list[0]!.req.path}`;
    assert.equal(first(seen[0]!), 'GET /v1/models');
    assert.equal(first(seen[1]!), 'GET /health');
    assert.equal(first(seen[2]!), 'GET /openai/v1/models');
    assert.equal(first(seen[3]!), 'GET /ready');
    assert.equal(first(ollamaSeen), 'GET /api/tags');
    assert.equal(ollama.stats.lastRequest!.path, '/api/tags');
    // No api_key, no authorization header.
    assert.equal(seen[0]![0]!.req.headers['authorization'], undefined);
    await until('the good ones recorded a verdict', () => state.health('openai').lastProbeAt > 0 && state.health('ollama').lastProbeAt > 0);
    assert.equal(state.health('openai').healthy, true);
    assert.equal(state.health('vllm').healthy, true);
    assert.equal(state.health('ollama').healthy, true);
    assert.equal(state.health('openai').lastError, null);
    // /openai/v1/models is a 404 on the sim: failing, but still healthy until `fall` (2) failures.
    assert.deepEqual(state.of('prefixed')[0], { healthy: true, error: 'probe GET /openai/v1/models: status 404' });
  } finally {
    await plugin.close!();
    await custom2.close!();
    await Promise.all([openai.close(), vllm.close(), prefixed.close(), custom.close(), ollama.close()]);
  }
});

test('a backend answering 500 goes unhealthy after `fall` probes, and back after `rise` good ones', async () => {
  const sim = await startOpenAISim({ status: 500 });
  const state = new RecordingState();
  const plugin = await startPlugin(
    { ...FAST, fall: 3, rise: 3 },
    groupsOf([{ model_name: 'g', litellm_params: { model: 'openai/m', api_base: sim.url }, model_info: { id: 'x' } }]),
    state,
  );
  try {
    await until('it is unhealthy', () => !state.health('x').healthy);
    const error = 'probe GET /v1/models: status 500';
    assert.deepEqual(state.of('x').slice(0, 3), [
      { healthy: true, error },
      { healthy: true, error },
      { healthy: false, error },
    ]);
    assert.equal(state.health('x').lastError, error);
    assert.equal(state.unavailable('x', Date.now()), 'unhealthy');
    // Still failing: stays out, every probe noted.
    const probed = state.health('x').lastProbeAt;
    await until('another probe', () => state.health('x').lastProbeAt > probed);
    assert.equal(state.health('x').healthy, false);

    sim.knobs.status = null;
    await until('it is healthy again', () => state.health('x').healthy);
    const calls = state.of('x');
    const lastFailure = calls.findLastIndex((c) => c.error !== null);
    assert.deepEqual(calls.slice(lastFailure + 1, lastFailure + 4), [
      { healthy: false, error: null },
      { healthy: false, error: null },
      { healthy: true, error: null },
    ]);
    // The last error stays on record for /health; a good probe does not erase it.
    assert.equal(state.health('x').lastError, error);
    assert.equal(state.unavailable('x', Date.now()), null);
  } finally {
    await plugin.close!();
    await sim.close();
  }
});

test('a stopped backend goes unhealthy with ECONNREFUSED', async () => {
  const sim = await startOpenAISim();
  const state = new RecordingState();
  const plugin = await startPlugin(
    { ...FAST, fall: 2 },
    groupsOf([{ model_name: 'g', litellm_params: { model: 'openai/m', api_base: sim.url }, model_info: { id: 'x' } }]),
    state,
  );
  try {
    await until('a good probe', () => state.of('x').length > 0);
    assert.deepEqual(state.of('x')[0], { healthy: true, error: null });
    await sim.close();
    await until('it is unhealthy', () => !state.health('x').healthy);
    await until('the refusal is recorded', () => state.health('x').lastError === 'probe GET /v1/models: ECONNREFUSED');
  } finally {
    await plugin.close!();
    await sim.close();
  }
});

test('a probe slower than `timeout` fails and is aborted', async () => {
  // A minute's delay: only the probe's timeout can end it.
  const sim = await startOpenAISim({ delayMs: 60_000 });
  const state = new RecordingState();
  const plugin = await startPlugin(
    { interval: 0.05, timeout: 0.05, fall: 1, jitter: 0 },
    groupsOf([{ model_name: 'g', litellm_params: { model: 'openai/m', api_base: sim.url }, model_info: { id: 'x' } }]),
    state,
  );
  try {
    await until('it is unhealthy', () => !state.health('x').healthy);
    assert.deepEqual(state.of('x')[0], { healthy: false, error: 'probe GET /v1/models: timed out after 0.05 s' });
    await until('the sim saw the abort', () => sim.stats.aborts > 0);
  } finally {
    await plugin.close!();
    await sim.close();
  }
});

test('the api key is sent as a bearer token and never appears in the error', async () => {
  const key = 'sk-live-0123456789abcdef';
  const sim = await startOpenAISim({ status: 401 });
  const seen = recordAll(sim.stats);
  const state = new RecordingState();
  const plugin = await startPlugin(
    { ...FAST, fall: 1 },
    groupsOf([{ model_name: 'g', litellm_params: { model: 'openai/m', api_base: sim.url, api_key: key }, model_info: { id: 'x' } }]),
    state,
  );
  try {
    await until('it is unhealthy', () => !state.health('x').healthy);
    assert.equal(seen[0]!.req.headers['authorization'], `Bearer ${key}`);
    const error = state.health('x').lastError!;
    assert.equal(error, 'probe GET /v1/models: status 401');
    for (const call of state.calls) assert.ok(!(call.error ?? '').includes(key));
  } finally {
    await plugin.close!();
    await sim.close();
  }
});

test('mock deployments are never probed', async () => {
  const sim = await startOpenAISim();
  const state = new RecordingState();
  const groups = groupsOf([
    { model_name: 'g', litellm_params: { model: 'mock/m' }, model_info: { id: 'mock' } },
    { model_name: 'g', litellm_params: { model: 'openai/m', api_base: sim.url }, model_info: { id: 'real' } },
  ]);
  const plugin = await startPlugin(FAST, groups, state);
  // A chain of mocks only: nothing to probe, nothing to leak.
  const mocksOnly = await startPlugin(FAST, groupsOf([{ model_name: 'm', litellm_params: { model: 'mock/m' }, model_info: { id: 'm' } }]), state);
  try {
    await until('three probes of the real one', () => state.of('real').length >= 3);
    assert.equal(state.of('mock').length, 0);
    assert.equal(state.of('m').length, 0);
    assert.equal(state.health('mock').lastProbeAt, 0);
  } finally {
    await plugin.close!();
    await mocksOnly.close!();
    await sim.close();
  }
});

test('probes of one deployment never overlap, and a slow one does not hold up the others', async () => {
  // The slow one answers in a minute (and its probe may wait that long): its first probe is in flight all along.
  const slow = await startOpenAISim({ delayMs: 60_000 });
  const fast = await startOpenAISim();
  const state = new RecordingState();
  const plugin = await startPlugin(
    { ...FAST, timeout: 120 },
    groupsOf([
      { model_name: 'g', litellm_params: { model: 'openai/m', api_base: slow.url }, model_info: { id: 'slow' } },
      { model_name: 'g', litellm_params: { model: 'openai/m', api_base: fast.url }, model_info: { id: 'fast' } },
    ]),
    state,
  );
  try {
    await until('the slow one is being probed', () => slow.stats.requests === 1);
    const fastBefore = state.of('fast').length;
    // Three more probes of the fast one: at least three intervals (50 ms) go by with the slow probe unanswered.
    await until('three more probes of the fast one', () => state.of('fast').length >= fastBefore + 3);
    assert.equal(slow.stats.requests, 1, 'no second probe of the slow one while its first is in flight');
    assert.equal(state.of('slow').length, 0);
    assert.equal(slow.stats.aborts, 0);
  } finally {
    await plugin.close!();
    await Promise.all([slow.close(), fast.close()]);
  }
});

test('close() stops probing and aborts the probe in flight', async () => {
  const sim = await startOpenAISim();
  const state = new RecordingState();
  const plugin = await startPlugin(
    // A probe may wait two minutes: a close() that waited for it would not settle within the deadline below.
    { ...FAST, timeout: 120 },
    groupsOf([{ model_name: 'g', litellm_params: { model: 'openai/m', api_base: sim.url }, model_info: { id: 'x' } }]),
    state,
  );
  try {
    await until('two probes', () => sim.stats.requests >= 2);
    sim.knobs.delayMs = 60_000;
    const probes = sim.stats.requests;
    await until('a slow probe is in flight', () => sim.stats.requests > probes);
    await settles('close() did not wait for the slow probe', Promise.resolve(plugin.close!()));
    await until('the sim saw the abort', () => sim.stats.aborts === 1);
    const requests = sim.stats.requests;
    const calls = state.calls.length;
    await sleep(250);
    assert.equal(sim.stats.requests, requests);
    assert.equal(state.calls.length, calls);
    await plugin.close!(); // twice is harmless
  } finally {
    await plugin.close!();
    await sim.close();
  }
});

test('deployments that join or leave the live group map are picked up at the next interval', async () => {
  const first = await startOpenAISim();
  const later = await startOpenAISim();
  const state = new RecordingState();
  // Ollama discovery adds and removes groups in the map the plugin was given, after create().
  const groups = new Map(groupsOf([{ model_name: 'a', litellm_params: { model: 'openai/m', api_base: first.url }, model_info: { id: 'first' } }]));
  const plugin = await startPlugin(FAST, groups, state);
  try {
    await until('the first one is probed', () => state.of('first').length > 0);
    const extra = groupsOf([{ model_name: 'b', litellm_params: { model: 'openai/m', api_base: later.url }, model_info: { id: 'later' } }]);
    groups.set('b', extra.get('b')!);
    await until('the new one is probed', () => state.of('later').length > 0 && later.stats.requests > 0);
    groups.delete('b');
    // Let the next sync notice, and a probe already in flight settle. The sync runs every interval and each probe
    // of the first one starts at least an interval after the previous: three more of them span a sync.
    const firstRequests = first.stats.requests;
    await until('the first one is probed three more times', () => first.stats.requests >= firstRequests + 3);
    const requests = later.stats.requests;
    const calls = state.of('later').length;
    const firstCalls = state.of('first').length;
    await until('three more probes of the first one', () => state.of('first').length >= firstCalls + 3);
    assert.equal(later.stats.requests, requests);
    assert.equal(state.of('later').length, calls);
    assert.ok(state.of('first').length > firstCalls, 'the remaining deployment is still probed');
  } finally {
    await plugin.close!();
    await Promise.all([first.close(), later.close()]);
  }
});

describe('through a real gateway', () => {
  test('requests avoid the deployment the probes found unhealthy', async () => {
    const good = await startOpenAISim();
    const bad = await startOpenAISim();
    const goodSeen = recordAll(good.stats);
    const badSeen = recordAll(bad.stats);
    const gw = await startGateway(`
plugins:
  - route.round_robin
  - name: health.active
    options: { interval: 0.05, fall: 1, rise: 1 }
model_list:
  - model_name: pool
    litellm_params: { model: openai/m, api_base: ${bad.url} }
    model_info: { id: bad }
  - model_name: pool
    litellm_params: { model: openai/m, api_base: ${good.url} }
    model_info: { id: good }
`);
    try {
      bad.knobs.status = 500;
      await until('the bad one is unhealthy', () => gw.gateway.state.health('bad').healthy === false);
      assert.equal(gw.gateway.state.health('bad').lastError, 'probe GET /v1/models: status 500');
      assert.equal(gw.gateway.state.health('good').healthy, true);
      const isChat = (r: { req: RecordedRequest }): boolean => r.req.method === 'POST' && r.req.path === '/v1/chat/completions';
      for (let i = 0; i < 20; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('pool'))).status, 200);
      assert.equal(goodSeen.filter(isChat).length, 20);
      assert.equal(badSeen.filter(isChat).length, 0);
      // Only probes reached the bad one.
      assert.ok(badSeen.length > 0 && badSeen.every((r) => r.req.method === 'GET' && r.req.path === '/v1/models'));
    } finally {
      await gw.close();
      await Promise.all([good.close(), bad.close()]);
    }
  });

  test('deployments found by Ollama discovery are probed too', async () => {
    const ollama = await startOllamaSim({ models: ['llama3.2', 'qwen2.5:7b'] });
    const seen = recordAll(ollama.stats);
    const gw = await startGateway(`
server: { discovery_interval: 0.1 }
plugins:
  - route.round_robin
  - name: health_check
    options: { interval: 0.05, fall: 1, rise: 1 }
model_list:
  - model_name: fleet
    litellm_params: { model: ollama/*, api_base: ${ollama.url} }
    model_info: { id: srv }
`);
    try {
      const state = gw.gateway.state;
      await until('both discovered deployments were probed', () => state.health('srv/llama3.2').lastProbeAt > 0 && state.health('srv/qwen2.5:7b').lastProbeAt > 0);
      assert.equal(state.health('srv/llama3.2').healthy, true);
      assert.ok(seen.some((r) => r.req.method === 'GET' && r.req.path === '/api/tags'));
    } finally {
      await gw.close();
      await ollama.close();
    }
  });
});

test('router_settings.health_check_interval / health_check_timeout are the defaults of interval / timeout', async () => {
  assert.deepEqual(probeTiming({}, {}), { interval: 10, timeout: 2 });
  assert.deepEqual(probeTiming({}, { router_settings: { health_check_interval: 300, health_check_timeout: 5 } }), { interval: 300, timeout: 5 });
  assert.deepEqual(probeTiming({}, { general_settings: { health_check_interval: 60 } }), { interval: 60, timeout: 2 });
  assert.deepEqual(probeTiming({ interval: 1, timeout: 0.5 }, { router_settings: { health_check_interval: 300, health_check_timeout: 5 } }), { interval: 1, timeout: 0.5 });
  assert.deepEqual(factory.sections, ['router_settings', 'litellm_settings', 'general_settings']);

  // The default chain's health.active, configured by router_settings alone: probes every 50 ms (not every 10 s).
  const backend = await startOpenAISim();
  const seen = recordAll(backend.stats);
  const gw = await startGateway(`
router_settings: { health_check_interval: 0.05, health_check_timeout: 1 }
model_list:
  - model_name: g
    litellm_params: { model: openai/m, api_base: "${backend.url}/v1" }
`);
  try {
    // Ten probes at the default 10 s interval would take 90 s: this deadline (a hang guard) is far shorter.
    await until('ten probes arrived', () => seen.filter((r) => r.req.method === 'GET').length >= 10, 15_000);
  } finally {
    await gw.close();
    await backend.close();
  }
});
