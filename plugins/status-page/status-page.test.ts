// The status page's parts on a fake clock: per-minute counters, the error ring, sessions, cookies, the status JSON.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { fakeContext, fakeDeps, modelGroups } from '../../core/plugin/testing.ts';
import { Activity, MinuteCounter, type FinishedRequest } from './activity.ts';
import { bearerKey, crossSite, MasterKey, sessionCookie, Sessions, sessionToken } from './access.ts';
import { buildStatus, keyIdOf } from './snapshot.ts';
import statusPage from './index.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function finished(overrides: Partial<FinishedRequest> = {}): FinishedRequest {
  return {
    id: 'r1',
    method: 'POST',
    path: '/v1/chat/completions',
    model: 'chat',
    status: 200,
    outcome: 'ok',
    error: null,
    deployment: { id: 'alpha' },
    auth: { keyId: 'team-a' },
    usage: null,
    logFields: {},
    ...overrides,
  };
}

describe('MinuteCounter', () => {
  test('counts the last 60 seconds and keeps the total', () => {
    const counter = new MinuteCounter();
    counter.add(T0);
    counter.add(T0 + 500);
    counter.add(T0 + 30_000, 3);
    assert.equal(counter.lastMinute(T0 + 30_000), 5);
    // At T0+60s the first second has left the window; the one 30 s in has not.
    assert.equal(counter.lastMinute(T0 + 60_000), 3);
    assert.equal(counter.lastMinute(T0 + 90_000), 0);
    assert.equal(counter.total, 5);
  });

  test('a bucket reused a minute later starts from zero', () => {
    const counter = new MinuteCounter();
    counter.add(T0, 7);
    counter.add(T0 + 60_000);
    assert.equal(counter.lastMinute(T0 + 60_000), 1);
    assert.equal(counter.total, 8);
  });
});

describe('Activity', () => {
  test('counts requests and errors per deployment and per key; a client that left is no error', () => {
    const activity = new Activity(T0, 10);
    activity.record(finished(), T0);
    activity.record(finished({ status: 502, outcome: 'error', error: { code: 'SLUICE_UPSTREAM_UNREACHABLE', message: 'The backend is down.' } }), T0 + 1);
    activity.record(finished({ status: 200, outcome: 'aborted' }), T0 + 2);
    activity.record(finished({ deployment: { id: 'beta' }, status: 500, outcome: 'ok' }), T0 + 3);
    const alpha = activity.deployments.get('alpha')!;
    assert.equal(alpha.requests.total, 3);
    assert.equal(alpha.errors.total, 1);
    assert.equal(activity.deployments.get('beta')!.errors.total, 1, "a backend's own 5xx is an error");
    assert.equal(activity.keys.get('team-a')!.requests.lastMinute(T0 + 3), 4);
    assert.equal(activity.all.errors.total, 2);
  });

  test('keeps tokens, spend and the budget left as the spend plugin reports them', () => {
    const activity = new Activity(T0, 10);
    activity.record(finished({ usage: { totalTokens: 30 }, logFields: { spend: 0.25, key_budget_remaining: 9.75 } }), T0);
    activity.record(finished({ usage: { totalTokens: 12 }, logFields: { spend: 0.5, key_budget_remaining: 9.25 } }), T0);
    const key = activity.keys.get('team-a')!;
    assert.equal(key.tokens.total, 42);
    assert.equal(key.spend, 0.75);
    assert.equal(key.budgetRemaining, 9.25);
  });

  test('recent errors are a bounded ring, newest first, with messages cut short', () => {
    const activity = new Activity(T0, 3);
    for (let i = 0; i < 5; i++) {
      activity.record(finished({ id: `r${i}`, status: 429, error: { code: 'SLUICE_RATE_LIMITED', message: i === 4 ? 'x'.repeat(1000) : `limit ${i}` } }), T0 + i);
    }
    const errors = activity.recentErrors();
    assert.deepEqual(
      errors.map((e) => e.requestId),
      ['r4', 'r3', 'r2'],
    );
    assert.equal(errors[0]!.message!.length, 300);
    assert.equal(errors[1]!.code, 'SLUICE_RATE_LIMITED');
  });
});

describe('sessions', () => {
  const master = new MasterKey('sk-master-0123456789');

  test('a session lasts until it expires, and the table keeps only the token digest', () => {
    const sessions = new Sessions();
    const token = sessions.open(master, 1000, T0);
    assert.ok(token.length >= 40);
    assert.ok(sessions.valid(token, master, T0 + 999));
    assert.ok(!sessions.valid(token, master, T0 + 1000));
    assert.ok(!sessions.valid(token, master, T0), 'an expired session is gone for good');
    assert.equal(sessions.size, 0);
  });

  test('a made-up token, a closed session and a session of another master key are refused', () => {
    const sessions = new Sessions();
    const token = sessions.open(master, 60_000, T0);
    assert.ok(!sessions.valid(`${token}x`, master, T0));
    assert.ok(!sessions.valid(token, new MasterKey('sk-another-master-key'), T0));
    const second = sessions.open(master, 60_000, T0);
    sessions.close(second);
    assert.ok(!sessions.valid(second, master, T0));
  });

  test('the table is bounded: past 1000 sessions the oldest go', () => {
    const sessions = new Sessions();
    const first = sessions.open(master, 60_000, T0);
    for (let i = 0; i < 1000; i++) sessions.open(master, 60_000, T0);
    assert.equal(sessions.size, 1000);
    assert.ok(!sessions.valid(first, master, T0));
  });

  test('the master key matches itself only', () => {
    assert.ok(master.matches('sk-master-0123456789'));
    assert.ok(!master.matches('sk-master-012345678'));
    assert.ok(!master.matches(''));
  });
});

describe('request parsing', () => {
  test('reads a Bearer key and the session cookie among others', () => {
    assert.equal(bearerKey(fakeContext({ headers: { authorization: 'Bearer sk-abc' } })), 'sk-abc');
    assert.equal(bearerKey(fakeContext({ headers: { authorization: 'Basic abc' } })), null);
    assert.equal(sessionToken(fakeContext({ headers: { cookie: 'a=1; sluice_ui=tok-123; b=2' } })), 'tok-123');
    assert.equal(sessionToken(fakeContext({ headers: { cookie: 'sluice_uix=tok' } })), null);
  });

  test('the cookie is HttpOnly, SameSite=Strict, scoped to /ui, and Secure over HTTPS', () => {
    assert.equal(sessionCookie('t', 60, false, '/ui'), 'sluice_ui=t; Path=/ui; Max-Age=60; HttpOnly; SameSite=Strict');
    assert.match(sessionCookie('t', 60, true, '/ui'), /; Secure$/);
  });

  test('a POST from another site is told apart from one from the page', () => {
    const from = (headers: Record<string, string>) => crossSite(fakeContext({ headers: { host: 'gw.example:4000', ...headers } }));
    assert.equal(from({ origin: 'http://gw.example:4000' }), false);
    assert.equal(from({}), false);
    assert.equal(from({ origin: 'https://evil.example' }), true);
    assert.equal(from({ origin: 'null' }), true);
    assert.equal(from({ 'sec-fetch-site': 'cross-site' }), true);
    assert.equal(from({ 'sec-fetch-site': 'same-site' }), true, 'a sibling subdomain is another site for this page');
    // A browser that says same-origin is believed even when its referrer policy made Origin `null`.
    assert.equal(from({ 'sec-fetch-site': 'same-origin', origin: 'null' }), false);
  });
});

describe('status JSON', () => {
  test('deployments with health and traffic, keys by alias or hash, never a key itself', () => {
    const groups = modelGroups([
      { model_name: 'chat', litellm_params: { model: 'openai/m', api_base: 'http://127.0.0.1:9/v1', api_key: 'sk-backend-secret' }, model_info: { id: 'alpha' } },
      { model_name: 'chat', litellm_params: { model: 'openai/m', api_base: 'http://127.0.0.1:10/v1' }, model_info: { id: 'beta' } },
    ]);
    const deps = fakeDeps({ groups });
    deps.state.setHealthy('beta', false, 'connect ECONNREFUSED', T0);
    deps.state.acquire('alpha');
    deps.state.observeLatency('alpha', 120.4);
    const activity = new Activity(T0, 10);
    activity.record(finished(), T0);
    const status = buildStatus(
      {
        groups,
        state: deps.state,
        activity,
        keys: [{ key: 'sk-team-a-secret', alias: 'team-a', rpm: 60, max_budget: 10 }, { key: 'sk-unnamed-secret' }],
        config: { file: '/etc/sluice.yaml', redacted: () => ({ general_settings: { master_key: '********' } }) },
        refreshMs: 3000,
      },
      T0 + 1000,
    );
    const [alpha, beta] = status.deployments;
    assert.equal(alpha!.status, 'healthy');
    assert.equal(alpha!.in_flight, 1);
    assert.equal(alpha!.latency_ms, 120);
    assert.equal(alpha!.requests, 1);
    assert.equal(alpha!.requests_per_minute, 1);
    assert.equal(alpha!.api_base, 'http://127.0.0.1:9/v1');
    assert.equal(beta!.status, 'unhealthy');
    assert.equal(beta!.last_error, 'connect ECONNREFUSED');
    assert.deepEqual(status.totals, { deployments: 2, healthy: 1, in_flight: 1, requests_per_minute: 1, errors_per_minute: 0, requests: 1, errors: 0 });
    const unnamed = `key-${createHash('sha256').update('sk-unnamed-secret').digest('hex').slice(0, 8)}`;
    assert.deepEqual(
      status.keys.map((k) => k.key),
      ['master', 'team-a', unnamed],
    );
    assert.equal(status.keys[1]!.rpm_limit, 60);
    assert.equal(status.keys[1]!.max_budget, 10);
    assert.equal(status.keys[1]!.requests, 1);
    assert.equal(keyIdOf({ key_sha256: 'abcdef0123456789' }), 'key-abcdef01');
    const text = JSON.stringify(status);
    for (const secret of ['sk-backend-secret', 'sk-team-a-secret', 'sk-unnamed-secret']) assert.ok(!text.includes(secret), secret);
    assert.deepEqual(status.config, { file: '/etc/sluice.yaml', sections: { general_settings: { master_key: '********' } } });
  });
});

describe('status JSON: cooldown', () => {
  test('a deployment cooling down shows the seconds left and why', () => {
    const groups = modelGroups([{ model_name: 'chat', litellm_params: { model: 'openai/m', api_base: 'http://127.0.0.1:9/v1' }, model_info: { id: 'alpha' } }]);
    const deps = fakeDeps({ groups });
    deps.state.coolDown('alpha', T0 + 5000, '3 failures in a minute', T0);
    const at = (now: number) => buildStatus({ groups, state: deps.state, activity: new Activity(T0, 1), keys: [], config: undefined, refreshMs: 1000 }, now);
    const cooling = at(T0 + 1000);
    assert.equal(cooling.deployments[0]!.status, 'cooldown');
    assert.equal(cooling.deployments[0]!.cooldown_remaining_s, 4);
    assert.equal(cooling.deployments[0]!.last_error, '3 failures in a minute');
    assert.equal(cooling.totals.healthy, 0);
    assert.equal(cooling.config, null);
    const over = at(T0 + 5000);
    assert.equal(over.deployments[0]!.status, 'healthy');
    assert.equal(over.deployments[0]!.cooldown_remaining_s, 0);
  });
});

describe('status_page plugin', () => {
  test('refuses to load without a master key to sign in with', async () => {
    await assert.rejects(async () => statusPage.create({}, fakeDeps()), /needs a master key/);
  });

  test('counts proxied requests in log, and not its own routes', async () => {
    const deps = fakeDeps({ sections: { general_settings: { master_key: 'sk-master-0123456789' } } });
    const plugin = await statusPage.create({}, deps);
    const proxied = fakeContext();
    proxied.status = 200;
    proxied.outcome = 'ok';
    plugin.log!(proxied);
    const own = fakeContext({ path: '/ui/api/status', endpoint: 'info' });
    plugin.log!(own);
    const route = plugin.routes!.find((r) => r.path === '/ui/api/status')!;
    const reply = await route.handle(fakeContext({ endpoint: 'info', path: '/ui/api/status', headers: { authorization: 'Bearer sk-master-0123456789' } }));
    assert.equal(reply.status, 200);
    const body = JSON.parse(String(reply.body)) as { totals: { requests: number } };
    assert.equal(body.totals.requests, 1);
  });
});
