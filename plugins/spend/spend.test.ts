// spend: cost math, budget durations and periods, and budgets enforced over periods on a fake clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeContext, fakeDeps, modelGroups } from '../../core/plugin/testing.ts';
import { SluiceError, type AuthInfo, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { MemoryStore } from '../../core/state/memory-store.ts';
import { parseDuration, periodAt, pricesOf, requestCost } from './cost.ts';
import spendPlugin, { formatUsd, groupCounter, keyCounter, teamBudgetCounter, teamCounter, usageOfJson } from './index.ts';

describe('cost', () => {
  test("per-token prices from model_info (numbers or LiteLLM's strings); none gives null", () => {
    const prices = pricesOf({ input_cost_per_token: 0.000001, output_cost_per_token: '2e-6' });
    assert.deepEqual(prices, { inputPerToken: 0.000001, outputPerToken: 0.000002, inputPerSecond: 0, outputPerSecond: 0 });
    assert.equal(formatUsd(requestCost(prices!, { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 }, 3)), '0.002');
    assert.equal(pricesOf({ id: 'x' }), null);
    assert.equal(pricesOf({ input_cost_per_token: -1, output_cost_per_token: 'cheap' }), null);
  });

  test('per-second prices are charged on the response time; no usage costs only time', () => {
    const prices = pricesOf({ input_cost_per_second: 0.0001, output_cost_per_second: 0.0002 })!;
    assert.equal(formatUsd(requestCost(prices, null, 2.5)), '0.00075');
    assert.equal(requestCost(prices, null, -1), 0);
  });

  test('formatUsd drops float noise', () => {
    assert.equal(formatUsd(0.1 + 0.2), '0.3');
    assert.equal(formatUsd(0.000123), '0.000123');
  });

  test("usage from a JSON answer: OpenAI's, Anthropic's and Ollama's shapes", () => {
    assert.deepEqual(usageOfJson({ usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } }), { promptTokens: 7, completionTokens: 3, totalTokens: 10 });
    assert.deepEqual(usageOfJson({ usage: { input_tokens: 5, output_tokens: 2 } }), { promptTokens: 5, completionTokens: 2, totalTokens: 7 });
    assert.deepEqual(usageOfJson({ prompt_eval_count: 4, eval_count: 9, done: true }), { promptTokens: 4, completionTokens: 9, totalTokens: 13 });
    assert.equal(usageOfJson({ choices: [] }), null);
    assert.equal(usageOfJson('text'), null);
  });
});

describe('budget durations and periods', () => {
  test("LiteLLM's durations parse; anything else is refused", () => {
    assert.deepEqual(parseDuration('30s'), { ms: 30_000, months: 0 });
    assert.deepEqual(parseDuration('15m'), { ms: 900_000, months: 0 });
    assert.deepEqual(parseDuration('1h'), { ms: 3_600_000, months: 0 });
    assert.deepEqual(parseDuration('30d'), { ms: 30 * 86_400_000, months: 0 });
    assert.deepEqual(parseDuration('2w'), { ms: 14 * 86_400_000, months: 0 });
    assert.deepEqual(parseDuration('1mo'), { ms: 0, months: 1 });
    for (const bad of ['0s', '1y', '1.5h', ' 1h', '1H', 'h', '', '01d']) assert.throws(() => parseDuration(bad), RangeError, bad);
  });

  test('periods are aligned to the epoch: a day at 00:00 UTC, months on the 1st', () => {
    const at = Date.UTC(2026, 11, 2, 13, 5, 7);
    assert.deepEqual(periodAt(parseDuration('1d'), at), { start: Date.UTC(2026, 11, 2), end: Date.UTC(2026, 11, 3) });
    assert.deepEqual(periodAt(parseDuration('30s'), at), { start: Date.UTC(2026, 11, 2, 13, 5, 0), end: Date.UTC(2026, 11, 2, 13, 5, 30) });
    assert.deepEqual(periodAt(parseDuration('1mo'), at), { start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
    // Months since January 1970 in threes: 2026-10 .. 2027-01.
    assert.deepEqual(periodAt(parseDuration('3mo'), at), { start: Date.UTC(2026, 9, 1), end: Date.UTC(2027, 0, 1) });
    // The end of one period is the start of the next.
    const end = periodAt(parseDuration('1h'), at).end;
    assert.equal(periodAt(parseDuration('1h'), end).start, end);
    assert.equal(periodAt(parseDuration('1h'), end - 1).end, end);
  });
});

describe('spend plugin on a fake clock', () => {
  const groups = modelGroups([
    { model_name: 'g', litellm_params: { model: 'openai/m', api_base: 'http://127.0.0.1:9/v1' }, model_info: { id: 'd1', input_cost_per_token: 0.001, output_cost_per_token: 0.002 } },
  ]);
  const group = groups.get('g')!;
  const auth: AuthInfo = {
    keyId: 'k',
    models: null,
    limits: { rpm: null, tpm: null, maxParallelRequests: null },
    metadata: { team_id: 't1' },
    budget: { max: 0.01, soft: 0.005, duration: '1h' },
  };

  /** One request through admit and a successful end: 2 prompt and 1 completion tokens, 0.004 USD. */
  async function serve(plugin: Plugin): Promise<RequestContext> {
    const ctx = fakeContext({ group });
    ctx.auth = auth;
    await plugin.admit!(ctx);
    ctx.deployment = group.deployments[0]!;
    ctx.usage = { promptTokens: 2, completionTokens: 1, totalTokens: 3 };
    ctx.settle('ok', ctx.startedAt + 10);
    await plugin.onResponseEnd!(ctx);
    return ctx;
  }

  test('spend adds up per key, group and team; at max_budget the key is refused until the period ends', async (t) => {
    let clock = Date.UTC(2026, 11, 2, 13, 0, 0);
    t.mock.method(Date, 'now', () => clock);
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const plugin = await spendPlugin.create({}, fakeDeps({ store, groups }));

    const first = await serve(plugin);
    assert.equal(first.logFields['spend'], 0.004);
    assert.equal(first.responseHeaders['x-litellm-key-spend'], '0');
    assert.equal(first.responseHeaders['x-litellm-key-soft-budget-exceeded'], undefined);
    const second = await serve(plugin);
    // Soft budget 0.005: 0.004 spent is under it; 0.008 is past it, which gives a header, not a refusal.
    assert.equal(second.responseHeaders['x-litellm-key-spend'], '0.004');
    assert.equal(second.responseHeaders['x-litellm-key-soft-budget-exceeded'], undefined);
    const third = await serve(plugin);
    assert.equal(third.responseHeaders['x-litellm-key-soft-budget-exceeded'], 'true');
    assert.equal(third.logFields['key_max_budget'], 0.01);
    assert.equal(formatUsd(third.logFields['key_budget_remaining'] as number), '-0.002');

    const period = periodAt(parseDuration('1h'), clock);
    assert.equal(formatUsd(await store.counterGet(keyCounter('k', period), clock)), '0.012');
    assert.equal(formatUsd(await store.counterGet(groupCounter('g'), clock)), '0.012');
    assert.equal(formatUsd(await store.counterGet(teamCounter('t1'), clock)), '0.012');

    const refused = fakeContext({ group });
    refused.auth = auth;
    await assert.rejects(Promise.resolve(plugin.admit!(refused)), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.status, 400);
      assert.equal(error.type, 'budget_exceeded');
      assert.equal(error.message, 'Budget has been exceeded! Current cost: 0.012, Max budget: 0.01');
      assert.deepEqual(error.details, { spend: '0.012', max_budget: '0.01' });
      return true;
    });

    // One millisecond before the hour still refuses; at the hour the new period starts from 0.
    clock = period.end - 1;
    const still = fakeContext({ group });
    still.auth = auth;
    await assert.rejects(Promise.resolve(plugin.admit!(still)), SluiceError);
    clock = period.end;
    const fresh = await serve(plugin);
    assert.equal(fresh.responseHeaders['x-litellm-key-spend'], '0');
    // The lifetime group counter kept counting.
    assert.equal(formatUsd(await store.counterGet(groupCounter('g'), clock)), '0.016');
  });

  test("a team's budget counts its period apart; at max_budget the team's keys are refused until the period ends", async (t) => {
    let clock = Date.UTC(2026, 11, 2, 13, 0, 0);
    t.mock.method(Date, 'now', () => clock);
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const teams = [{ team_id: 't1', team_alias: 'Team One', max_budget: 0.01, soft_budget: 0.005, budget_duration: '1h' }];
    const plugin = await spendPlugin.create({}, fakeDeps({ store, groups, sections: { teams } }));
    // The key itself has no budget: only its team's applies.
    const teamOnly: AuthInfo = { ...auth, budget: { max: null, soft: null, duration: null } };
    const serveAs = async (who: AuthInfo): Promise<RequestContext> => {
      const ctx = fakeContext({ group });
      ctx.auth = who;
      await plugin.admit!(ctx);
      ctx.deployment = group.deployments[0]!;
      ctx.usage = { promptTokens: 2, completionTokens: 1, totalTokens: 3 };
      ctx.settle('ok', ctx.startedAt + 10);
      await plugin.onResponseEnd!(ctx);
      return ctx;
    };
    const first = await serveAs(teamOnly);
    assert.equal(first.logFields['team_max_budget'], 0.01);
    assert.equal(formatUsd(first.logFields['team_budget_remaining'] as number), '0.006');
    assert.equal(first.responseHeaders['x-litellm-key-spend'], undefined, 'no key budget, no key header');
    await serveAs(teamOnly);
    const third = await serveAs(teamOnly);
    assert.equal(third.responseHeaders['x-litellm-team-soft-budget-exceeded'], 'true');
    const period = periodAt(parseDuration('1h'), clock);
    assert.equal(formatUsd(await store.counterGet(teamBudgetCounter('t1', period), clock)), '0.012');
    assert.equal(formatUsd(await store.counterGet(teamCounter('t1'), clock)), '0.012');

    const refused = fakeContext({ group });
    refused.auth = teamOnly;
    await assert.rejects(Promise.resolve(plugin.admit!(refused)), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.type, 'budget_exceeded');
      assert.equal(error.message, 'Budget has been exceeded! Team=t1 Current cost: 0.012, Max budget: 0.01');
      return true;
    });
    // A key of another team is not affected.
    await serveAs({ ...teamOnly, keyId: 'other', metadata: { team_id: 't2' } });
    clock = period.end;
    const fresh = await serveAs(teamOnly);
    assert.equal(fresh.logFields['team_budget_remaining'], 0.01 - 0.004);
    // The all-time team counter kept counting.
    assert.equal(formatUsd(await store.counterGet(teamCounter('t1'), clock)), '0.016');
  });

  test('a fallback admission does not check the key again; a cache hit and a deployment without prices cost nothing', async (t) => {
    const clock = Date.UTC(2026, 11, 2, 13, 0, 0);
    t.mock.method(Date, 'now', () => clock);
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const plugin = await spendPlugin.create({}, fakeDeps({ store, groups }));
    const ctx = fakeContext({ group });
    ctx.auth = { ...auth, budget: { max: 0, soft: null, duration: null } };
    await assert.rejects(Promise.resolve(plugin.admit!(ctx)), SluiceError);

    const again = fakeContext({ group });
    again.auth = { ...auth, budget: { max: 1, soft: null, duration: null } };
    await plugin.admit!(again);
    assert.equal(again.responseHeaders['x-litellm-key-spend'], '0');
    delete again.responseHeaders['x-litellm-key-spend'];
    await plugin.admit!(again);
    assert.equal(again.responseHeaders['x-litellm-key-spend'], undefined, 'not read twice');

    again.deployment = group.deployments[0]!;
    again.usage = { promptTokens: 100, completionTokens: 100, totalTokens: 200 };
    again.logFields['cache'] = 'hit';
    await plugin.onResponseEnd!(again);
    assert.equal(again.logFields['spend'], undefined);
    assert.equal(await store.counterGet(keyCounter('k', null), clock), 0);

    const unpriced = modelGroups([{ model_name: 'free', litellm_params: { model: 'openai/m', api_base: 'http://127.0.0.1:9/v1' } }]).get('free')!;
    const free = fakeContext({ group: unpriced });
    await plugin.admit!(free);
    free.deployment = unpriced.deployments[0]!;
    free.usage = { promptTokens: 100, completionTokens: 100, totalTokens: 200 };
    await plugin.onResponseEnd!(free);
    assert.equal(free.logFields['spend'], 0);
    assert.equal(await store.counterGet(groupCounter('free'), clock), 0);
  });

  test('a held JSON answer sets x-litellm-response-cost, and the books use the same figure', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const plugin = await spendPlugin.create({}, fakeDeps({ store, groups }));
    const ctx = fakeContext({ group });
    await plugin.admit!(ctx);
    ctx.deployment = group.deployments[0]!;
    const json = { usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } };
    await plugin.onResponseBody!(ctx, { status: 200, raw: Buffer.from(JSON.stringify(json)), json });
    assert.equal(ctx.responseHeaders['x-litellm-response-cost'], '0.02');
    ctx.usage = { promptTokens: 10, completionTokens: 5, totalTokens: 15 };
    await plugin.onResponseEnd!(ctx);
    assert.equal(ctx.logFields['spend'], 0.02);

    const off = await spendPlugin.create({ cost_header: false }, fakeDeps({ store, groups }));
    assert.equal(off.onResponseBody, undefined, 'bodies are not held without the header');
  });
});
