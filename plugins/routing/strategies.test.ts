import { fakeDeps } from '../../core/plugin/testing.ts';
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { RequestContext } from '../../core/plugin/context.ts';
import { buildModelGroups, type Deployment, type LitellmParams, type ModelGroup } from '../../core/config/models.ts';
import { SluiceError, type PluginFactory } from '../../core/plugin/api.ts';
import { loadPlugins } from '../../core/plugin/loader.ts';
import { BUILTIN_PLUGINS, PLUGIN_ALIASES, STANDARD_MODULES } from '../standard.ts';
import { MemoryRouterState } from '../../core/state/router-state.ts';
import latencyBased from './latency-based.ts';
import leastBusy from './least-busy.ts';
import leastLoaded from './least-loaded.ts';
import prefixAffinity, { affinityHash } from './prefix-affinity.ts';
import simpleShuffle from './simple-shuffle.ts';
import usageBased from './usage-based.ts';
import weighted from './weighted.ts';

type Params = Partial<LitellmParams>;

/** A model group `g` of mock deployments with the given ids and params. */
function pool(spec: Record<string, Params>, name = 'g'): { groups: ReadonlyMap<string, ModelGroup>; list: readonly Deployment[] } {
  const built = buildModelGroups(
    Object.entries(spec).map(([id, params]) => ({ model_name: name, litellm_params: { model: `mock/${id}`, ...params }, model_info: { id } })),
  );
  assert.deepEqual(built.errors, []);
  return { groups: built.groups, list: built.groups.get(name)!.deployments };
}

function ctx(body: Record<string, unknown> = {}, model = 'g'): RequestContext {
  return { model, body: { model, ...body } } as unknown as RequestContext;
}

interface Harness {
  state: MemoryRouterState;
  list: readonly Deployment[];
  byId: (id: string) => Deployment;
  pick: (candidates?: readonly Deployment[], body?: Record<string, unknown>) => Deployment;
  /** Counts picks per deployment id over `n` decisions. */
  tally: (n: number, candidates?: readonly Deployment[]) => Map<string, number>;
}

async function harness<O>(factory: PluginFactory<O>, options: O, spec: Record<string, Params>): Promise<Harness> {
  const { groups, list } = pool(spec);
  const state = new MemoryRouterState();
  const plugin = await factory.create(options, fakeDeps({ groups, state }));
  const route = plugin.route!;
  const pick = (candidates: readonly Deployment[] = list, body: Record<string, unknown> = {}): Deployment => {
    const picked = route(ctx(body), candidates);
    assert.ok(picked !== undefined && candidates.includes(picked), 'route returns one of the candidates');
    return picked;
  };
  return {
    state,
    list,
    byId: (id) => list.find((d) => d.id === id)!,
    pick,
    tally(n, candidates = list) {
      const counts = new Map<string, number>(candidates.map((d) => [d.id, 0]));
      for (let i = 0; i < n; i++) {
        const id = pick(candidates).id;
        counts.set(id, counts.get(id)! + 1);
      }
      return counts;
    },
  };
}

function share(counts: Map<string, number>, id: string): number {
  let total = 0;
  for (const c of counts.values()) total += c;
  return counts.get(id)! / total;
}

function within(value: number, lo: number, hi: number, what: string): void {
  assert.ok(value >= lo && value <= hi, `${what}: ${value.toFixed(4)} not within [${lo}, ${hi}]`);
}

describe('registry', () => {
  test('every strategy is registered under its id, and LiteLLM names alias to it', async () => {
    const expected: Record<string, string> = {
      'simple-shuffle': 'route.simple_shuffle',
      'least-busy': 'route.least_busy',
      'latency-based-routing': 'route.latency_based',
      'usage-based-routing': 'route.usage_based',
      'usage-based-routing-v2': 'route.usage_based',
      weighted: 'route.weighted',
      'least-loaded': 'route.least_loaded',
      'prefix-affinity': 'route.prefix_affinity',
      'round-robin': 'route.round_robin',
    };
    for (const [alias, id] of Object.entries(expected)) {
      assert.equal(PLUGIN_ALIASES[alias], id, alias);
      const module = await BUILTIN_PLUGINS[id]!();
      assert.equal(module.default.id, id);
    }
  });

  test('the loader resolves aliases, applies option defaults and rejects unknown options', async () => {
    const { groups } = pool({ a: {} });
    const { sections: _unused, ...deps } = fakeDeps({ groups });
    const loaded = await loadPlugins(['usage-based-routing-v2', { name: 'prefix-affinity', options: { replicas: 8 } }], 'test.yaml', STANDARD_MODULES, {}, deps);
    assert.deepEqual(
      loaded.map((p) => p.id),
      ['route.usage_based', 'route.prefix_affinity'],
    );
    for (const [name, options] of [
      ['route.prefix_affinity', { replica: 8 }],
      ['route.latency_based', { buffer: -1 }],
      ['route.least_loaded', { default_latency_ms: 0 }],
      ['route.weighted', { anything: true }],
    ] as const) {
      await assert.rejects(loadPlugins([{ name, options }], 'test.yaml', STANDARD_MODULES, {}, deps), /options/, name);
    }
  });
});

describe('route.least_busy', () => {
  test('avoids a deployment holding requests in flight, and shares ties at random', async () => {
    const h = await harness(leastBusy, {}, { a: {}, b: {}, c: {} });
    h.state.acquire('a');
    h.state.acquire('a');
    const counts = h.tally(600);
    assert.equal(counts.get('a'), 0);
    within(share(counts, 'b'), 0.4, 0.6, 'b share of the b/c tie');

    h.state.acquire('b');
    assert.deepEqual([...h.tally(100)].filter(([, n]) => n > 0), [['c', 100]]);
  });

  test('an idle pool is not piled onto its first deployment', async () => {
    const h = await harness(leastBusy, {}, { a: {}, b: {}, c: {} });
    const counts = h.tally(900);
    for (const id of ['a', 'b', 'c']) within(share(counts, id), 0.25, 0.42, id);
  });
});

describe('route.weighted', () => {
  test('weights 1:2 give exactly 1:2 over 300 picks, interleaved', async () => {
    const h = await harness(weighted, {}, { a: { weight: 1 }, b: { weight: 2 } });
    const picks = Array.from({ length: 300 }, () => h.pick().id);
    assert.equal(picks.filter((id) => id === 'a').length, 100);
    assert.equal(picks.filter((id) => id === 'b').length, 200);
    // Smooth: every window of three holds exactly one `a`.
    for (let i = 0; i + 3 <= picks.length; i++) assert.equal(picks.slice(i, i + 3).filter((id) => id === 'a').length, 1, `window at ${i}`);
  });

  test("weights 5:1:1 follow nginx's order a a b a c a a, deterministically", async () => {
    const h = await harness(weighted, {}, { a: { weight: 5 }, b: { weight: 1 }, c: { weight: 1 } });
    const order = ['a', 'a', 'b', 'a', 'c', 'a', 'a'];
    assert.deepEqual(
      Array.from({ length: 14 }, () => h.pick().id),
      [...order, ...order],
    );
  });

  test('a deployment out of the candidate set is skipped; the rest keep their ratio', async () => {
    const h = await harness(weighted, {}, { a: { weight: 1 }, b: { weight: 2 }, c: { weight: 3 } });
    const counts = h.tally(300, [h.byId('a'), h.byId('b')]);
    assert.deepEqual([...counts], [
      ['a', 100],
      ['b', 200],
    ]);
    const all = h.tally(600);
    assert.deepEqual([...all], [
      ['a', 100],
      ['b', 200],
      ['c', 300],
    ]);
  });

  test('candidates in another order, or unknown at load, keep exact shares', async () => {
    const h = await harness(weighted, {}, { a: { weight: 1 }, b: { weight: 2 } });
    const stranger = pool({ z: { weight: 3 } }).list[0]!;
    const counts = h.tally(600, [stranger, h.byId('b'), h.byId('a')]);
    assert.deepEqual([...counts], [
      ['z', 300],
      ['b', 200],
      ['a', 100],
    ]);
  });

  test('model groups keep separate turns', async () => {
    const { groups, list } = pool({ a: { weight: 1 }, b: { weight: 1 } });
    const plugin = await weighted.create({}, fakeDeps({ groups }));
    assert.equal(plugin.route!(ctx({}, 'g'), list)!.id, 'a');
    assert.equal(plugin.route!(ctx({}, 'other'), list)!.id, 'a');
    assert.equal(plugin.route!(ctx({}, 'g'), list)!.id, 'b');
  });
});

describe('route.simple_shuffle', () => {
  test('weights 1:2 give the second about two thirds of 6000 picks', async () => {
    const h = await harness(simpleShuffle, {}, { a: { weight: 1 }, b: { weight: 2 } });
    within(share(h.tally(6000), 'b'), 0.62, 0.71, 'b share');
  });

  test('an explicit weight on one deployment counts the others as weight 1', async () => {
    const h = await harness(simpleShuffle, {}, { a: { weight: 3 }, b: {} });
    within(share(h.tally(6000), 'a'), 0.71, 0.79, 'a share');
  });

  test('without weights, rpm decides; without rpm, tpm; without either, uniform', async () => {
    const rpm = await harness(simpleShuffle, {}, { a: { rpm: 100 }, b: { rpm: 300, tpm: 1 } });
    within(share(rpm.tally(6000), 'b'), 0.71, 0.79, 'b share by rpm');
    const tpm = await harness(simpleShuffle, {}, { a: { tpm: 1000 }, b: { tpm: 4000 } });
    within(share(tpm.tally(6000), 'b'), 0.76, 0.84, 'b share by tpm');
    const uniform = await harness(simpleShuffle, {}, { a: {}, b: {}, c: {} });
    const counts = uniform.tally(6000);
    for (const id of ['a', 'b', 'c']) within(share(counts, id), 0.29, 0.38, id);
  });

  test('rpm 0 takes no traffic; the weighting follows the candidate set', async () => {
    const h = await harness(simpleShuffle, {}, { a: { rpm: 0 }, b: { rpm: 50 }, c: { rpm: 50 } });
    const counts = h.tally(2000);
    assert.equal(counts.get('a'), 0);
    within(share(counts, 'b'), 0.44, 0.56, 'b share');
    assert.deepEqual([...h.tally(50, [h.byId('a'), h.byId('c')])], [
      ['a', 0],
      ['c', 50],
    ]);
  });
});

describe('route.latency_based', () => {
  test('an unmeasured deployment is explored first, but not flooded while its first request runs', async () => {
    const h = await harness(latencyBased, {}, { a: {}, b: {}, c: {} });
    h.state.observeLatency('a', 100);
    h.state.observeLatency('b', 100);
    assert.deepEqual([...h.tally(20)].filter(([, n]) => n > 0), [['c', 20]]);
    h.state.acquire('c');
    assert.equal(h.tally(200).get('c'), 0);
  });

  test('moves load off a deployment made slow, and shares load between near-equal ones', async () => {
    const h = await harness(latencyBased, {}, { a: {}, b: {}, c: {} });
    h.state.observeLatency('a', 100);
    h.state.observeLatency('b', 105);
    h.state.observeLatency('c', 300);
    let counts = h.tally(1000);
    assert.equal(counts.get('c'), 0);
    within(share(counts, 'a'), 0.4, 0.6, 'a share while a ≈ b');

    for (let i = 0; i < 10; i++) h.state.observeLatency('a', 2000);
    counts = h.tally(500);
    assert.equal(counts.get('a'), 0);
    assert.equal(counts.get('b'), 500);
  });

  test('buffer: 0 sends everything to the fastest; a wide buffer shares', async () => {
    const strict = await harness(latencyBased, { buffer: 0 }, { a: {}, b: {} });
    strict.state.observeLatency('a', 100);
    strict.state.observeLatency('b', 101);
    assert.equal(strict.tally(200).get('a'), 200);
    const wide = await harness(latencyBased, { buffer: 1 }, { a: {}, b: {} });
    wide.state.observeLatency('a', 100);
    wide.state.observeLatency('b', 190);
    within(share(wide.tally(1000), 'b'), 0.4, 0.6, 'b share within a 100% buffer');
  });

  test('with nothing measured and everything busy, the least busy is used', async () => {
    const h = await harness(latencyBased, {}, { a: {}, b: {} });
    h.state.acquire('a');
    h.state.acquire('a');
    h.state.acquire('b');
    assert.equal(h.tally(50).get('b'), 50);
  });
});

/** The router reads Date.now(): held 20 s into a clock minute, so usage recorded "now" is current when read. */
const TWENTY_SECONDS_INTO_A_MINUTE = 1_700_000_000_000 - (1_700_000_000_000 % 60_000) + 20_000;
function holdClock(t: TestContext): number {
  t.mock.method(Date, 'now', () => TWENTY_SECONDS_INTO_A_MINUTE);
  return TWENTY_SECONDS_INTO_A_MINUTE;
}

describe('route.usage_based', () => {
  test('skips a deployment at its rpm and picks the least used', async (t) => {
    const now = holdClock(t);
    const h = await harness(usageBased, {}, { a: { rpm: 2 }, b: { rpm: 10 }, c: { rpm: 100 } });
    h.state.addUsage('a', 2, 0, now);
    h.state.addUsage('b', 5, 0, now); // 50% of its rpm
    h.state.addUsage('c', 20, 0, now); // 20%
    assert.equal(h.tally(50).get('c'), 50);
    // Without c, a is full: b is the only one left.
    assert.equal(h.tally(20, [h.byId('a'), h.byId('b')]).get('b'), 20);
  });

  test('tokens relative to tpm rank first; at tpm a deployment is skipped', async (t) => {
    const now = holdClock(t);
    const h = await harness(usageBased, {}, { a: { tpm: 1000, rpm: 1000 }, b: { tpm: 10_000 } });
    h.state.addUsage('a', 1, 500, now); // 50% of tpm, 0.1% of rpm
    h.state.addUsage('b', 50, 2000, now); // 20% of tpm
    assert.equal(h.pick().id, 'b');
    h.state.addUsage('b', 0, 8000, now); // b at its tpm
    assert.equal(h.pick().id, 'a');
  });

  test('idle deployments share the load at random', async () => {
    const h = await harness(usageBased, {}, { a: { rpm: 100 }, b: { rpm: 100 } });
    within(share(h.tally(1000), 'a'), 0.4, 0.6, 'a share');
  });

  test('throws 429 with retry-after when every deployment is at its limit', async (t) => {
    const now = holdClock(t);
    const h = await harness(usageBased, {}, { a: { rpm: 1 }, b: { tpm: 100 } });
    h.state.addUsage('a', 1, 0, now);
    h.state.addUsage('b', 1, 100, now);
    assert.throws(
      () => h.pick(),
      (error: unknown) => {
        assert.ok(error instanceof SluiceError);
        assert.equal(error.code, 'SLUICE_RATE_LIMITED');
        assert.equal(error.status, 429);
        assert.equal(error.message, 'All deployments of model group "g" are at their rpm/tpm limits for this minute.');
        assert.deepEqual(error.details, { model: 'g' });
        // 20 s into the minute: the next one begins in 40 s.
        assert.equal(error.headers?.['retry-after'], '40');
        return true;
      },
    );
  });
});

describe('route.least_loaded', () => {
  test('prefers the idle deployment', async () => {
    const h = await harness(leastLoaded, {}, { a: {}, b: {}, c: {}, d: {} });
    h.state.acquire('a');
    h.state.acquire('a');
    const counts = h.tally(1000);
    // A random pair holds at least one idle deployment, which always beats a.
    assert.equal(counts.get('a'), 0);
    for (const id of ['b', 'c', 'd']) within(share(counts, id), 0.25, 0.42, id);
  });

  test('weighs in-flight requests by latency', async () => {
    const h = await harness(leastLoaded, {}, { fast: {}, slow: {} });
    h.state.observeLatency('fast', 10);
    h.state.observeLatency('slow', 200);
    h.state.acquire('fast');
    h.state.acquire('fast');
    // fast: (2 + 1) × 10 = 30 beats slow: (0 + 1) × 200.
    assert.equal(h.tally(200).get('fast'), 200);
    for (let i = 0; i < 30; i++) h.state.acquire('fast');
    // fast: 33 × 10 = 330 now loses.
    assert.equal(h.tally(200).get('slow'), 200);
  });

  test('default_latency_ms scores an unmeasured deployment; without it, in-flight counts decide', async () => {
    const withDefault = await harness(leastLoaded, { default_latency_ms: 1000 }, { known: {}, unknown: {} });
    withDefault.state.observeLatency('known', 100);
    withDefault.state.acquire('known');
    assert.equal(withDefault.tally(100).get('known'), 100);

    const neutral = await harness(leastLoaded, {}, { known: {}, unknown: {} });
    neutral.state.observeLatency('known', 100);
    neutral.state.acquire('known');
    assert.equal(neutral.tally(100).get('unknown'), 100);
  });

  test('a single candidate is returned', async () => {
    const h = await harness(leastLoaded, {}, { a: {}, b: {} });
    h.state.acquire('a');
    assert.equal(h.pick([h.byId('a')]).id, 'a');
  });
});

describe('route.prefix_affinity', () => {
  const system = { role: 'system', content: 'You are a terse assistant.' };
  const conversation = (n: number): Record<string, unknown> => ({ messages: [system, { role: 'user', content: `Question number ${n}?` }] });
  const ids = { a: {}, b: {}, c: {}, d: {} };

  test('all turns of a conversation go to one deployment', async () => {
    const h = await harness(prefixAffinity, {}, ids);
    for (let n = 0; n < 50; n++) {
      const first = conversation(n).messages as object[];
      const turn1 = h.pick(h.list, { messages: first });
      const turn2 = h.pick(h.list, { messages: [...first, { role: 'assistant', content: 'An answer.' }, { role: 'user', content: 'More?' }] });
      const turn3 = h.pick(h.list, {
        messages: [
          ...first,
          { role: 'assistant', content: 'An answer.' },
          { role: 'user', content: 'More?' },
          { role: 'assistant', content: [{ type: 'text', text: 'Yes.' }] },
          { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
        ],
      });
      assert.equal(turn2, turn1, `conversation ${n}, turn 2`);
      assert.equal(turn3, turn1, `conversation ${n}, turn 3`);
    }
  });

  test('the same user goes to the same deployment whatever the messages', async () => {
    const h = await harness(prefixAffinity, {}, ids);
    const homes = new Set<string>();
    for (let n = 0; n < 40; n++) homes.add(h.pick(h.list, { ...conversation(n), user: 'alice' }).id);
    assert.equal(homes.size, 1);
    // An empty user does not count as a key: the messages decide.
    assert.equal(affinityHash({ user: '', ...conversation(1) }), affinityHash(conversation(1)));
    assert.notEqual(affinityHash({ user: 'alice' }), affinityHash({ user: 'bob' }));
  });

  test('1000 conversations spread over 4 deployments', async () => {
    const h = await harness(prefixAffinity, {}, ids);
    const counts = new Map<string, number>(h.list.map((d) => [d.id, 0]));
    for (let n = 0; n < 1000; n++) {
      const id = h.pick(h.list, conversation(n)).id;
      counts.set(id, counts.get(id)! + 1);
    }
    for (const id of Object.keys(ids)) within(share(counts, id), 0.15, 0.35, id);
  });

  test('a deployment over the load bound is skipped until it drains', async () => {
    const h = await harness(prefixAffinity, {}, ids);
    const body = conversation(7);
    const home = h.pick(h.list, body);
    h.state.acquire(home.id);
    assert.equal(h.pick(h.list, body), home, 'one request in flight is within the bound');
    for (let i = 0; i < 9; i++) h.state.acquire(home.id);
    // 10 in flight > ceil(1.25 × 11 / 4) = 4.
    const away = h.pick(h.list, body);
    assert.notEqual(away, home);
    assert.equal(h.pick(h.list, body), away, 'the overflow is stable too');
    for (let i = 0; i < 7; i++) h.state.release(home.id);
    // 3 in flight > ceil(1.25 × 4 / 4) = 2: still away.
    assert.equal(h.pick(h.list, body), away);
    h.state.release(home.id);
    // 2 in flight > ceil(1.25 × 3 / 4) = 1: still away.
    assert.equal(h.pick(h.list, body), away);
    h.state.release(home.id);
    assert.equal(h.pick(h.list, body), home, 'back home once drained');
  });

  test('a loaded pool still honours the bound', async () => {
    const h = await harness(prefixAffinity, { load_factor: 1 }, ids);
    // 4 deployments, 8 requests in flight: bound ceil(1 × 9 / 4) = 3.
    for (const [id, n] of [['a', 4], ['b', 2], ['c', 1], ['d', 1]] as const) for (let i = 0; i < n; i++) h.state.acquire(id);
    for (let n = 0; n < 200; n++) assert.notEqual(h.pick(h.list, conversation(n)).id, 'a');
  });

  test('when a deployment leaves, only its own keys move (about 1/N)', async () => {
    const h = await harness(prefixAffinity, {}, ids);
    const before = Array.from({ length: 1000 }, (_, n) => h.pick(h.list, conversation(n)).id);
    const without = h.list.filter((d) => d.id !== 'c');
    const after = Array.from({ length: 1000 }, (_, n) => h.pick(without, conversation(n)).id);
    let moved = 0;
    for (let n = 0; n < 1000; n++) {
      if (before[n] === after[n]) continue;
      moved++;
      assert.equal(before[n], 'c', `conversation ${n} moved from ${before[n]} although it was not on c`);
    }
    within(moved / 1000, 0.15, 0.35, 'share of keys moved');
    // c's keys spread over the other three rather than all landing on one neighbour.
    const heirs = new Set(after.filter((_, n) => before[n] === 'c'));
    assert.equal(heirs.size, 3);
    // And they come back when it returns.
    assert.deepEqual(
      Array.from({ length: 1000 }, (_, n) => h.pick(h.list, conversation(n)).id),
      before,
    );
  });

  test('requests without a key spread at random; a candidate unknown at load is placed on the ring', async () => {
    const h = await harness(prefixAffinity, {}, { a: {}, b: {} });
    const counts = h.tally(1000);
    within(share(counts, 'a'), 0.35, 0.65, 'a share of keyless requests');
    const stranger = pool({ z: {} }).list[0]!;
    const mixed = [h.byId('a'), stranger];
    const picks = new Set(Array.from({ length: 300 }, (_, n) => h.pick(mixed, conversation(n)).id));
    assert.deepEqual([...picks].sort(), ['a', 'z']);
  });

  test('the key: system prompt and first question, or the start of a prompt', () => {
    const base = [system, { role: 'user', content: 'Hi' }];
    assert.equal(affinityHash({ messages: base }), affinityHash({ messages: [...base, { role: 'user', content: 'later' }] }));
    assert.notEqual(affinityHash({ messages: base }), affinityHash({ messages: [{ role: 'system', content: 'Other.' }, base[1]] }));
    assert.notEqual(affinityHash({ messages: base }), affinityHash({ messages: [system, { role: 'user', content: 'Hello' }] }));
    // Role and content boundaries matter: "ab"+"c" is not "a"+"bc".
    assert.notEqual(
      affinityHash({ messages: [{ role: 'system', content: 'ab' }, { role: 'user', content: 'c' }] }),
      affinityHash({ messages: [{ role: 'system', content: 'a' }, { role: 'user', content: 'bc' }] }),
    );
    // Very long contents (inline images) still distinguish by their tail.
    const big = 'x'.repeat(100_000);
    assert.notEqual(
      affinityHash({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: big + '1' } }] }] }),
      affinityHash({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: big + '2' } }] }] }),
    );
    const preamble = 'p'.repeat(2000);
    assert.equal(affinityHash({ prompt: preamble + ' turn one' }), affinityHash({ prompt: [preamble + ' turn two'] }));
    assert.equal(affinityHash({ input: 'embed me' }), null);
  });
});
