// The status page over plain HTTP: who gets the page and its data, the sign-in form and its cookie, the data's shape
// after real requests through the gateway, and what it never shows.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../core/config/load.ts';
import { chat, post, ROOT, startGateway, type TestGateway } from './helpers.ts';
import { LOGIN_FAILURES_MAX } from '../plugins/status-page/index.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';

const MASTER = 'sk-master-status-0123456789';
const TEAM = 'sk-team-a-status-0123456789';
const BACKEND_KEY = 'sk-backend-status-secret-42';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function get(gw: TestGateway, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${gw.url}${path}`, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function form(gw: TestGateway, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The `name=value` of a Set-Cookie header, for sending back. */
function cookieOf(answer: Answer): string {
  const set = answer.headers.get('set-cookie');
  assert.ok(set !== null, 'a Set-Cookie header');
  return set.split(';')[0]!;
}

interface StatusJson {
  refresh_ms: number;
  totals: { deployments: number; healthy: number; requests: number; errors: number };
  deployments: { id: string; model_name: string; status: string; requests: number; errors: number; in_flight: number; latency_ms: number | null; requests_per_minute: number }[];
  keys: { key: string; requests: number; rpm_limit: number | null; max_budget: number | null; spend: number }[];
  recent_errors: { status: number; code: string | null; model: string; deployment: string | null; key: string | null; message: string | null }[];
  config: { file: string; sections: Record<string, unknown> } | null;
}

describe('status page over HTTP', () => {
  let alpha: Sim;
  let broken: Sim;
  let gw: TestGateway;

  before(async () => {
    alpha = await startOpenAISim();
    broken = await startOpenAISim({ status: 500 });
    // No plugins: section: the default chain has the status page because there is a master key.
    gw = await startGateway(`
general_settings: { master_key: ${MASTER} }
keys:
  - { key: ${TEAM}, alias: team-a, rpm: 600, max_budget: 5 }
router_settings: { num_retries: 0, health_check_interval: 300 }
model_list:
  - model_name: chat
    litellm_params: { model: openai/sim, api_base: ${alpha.url}/v1, api_key: ${BACKEND_KEY} }
    model_info: { id: alpha, input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
  - model_name: flaky
    litellm_params: { model: openai/sim, api_base: ${broken.url}/v1 }
    model_info: { id: broken }
`);
  });
  after(async () => {
    await gw.close();
    await alpha.close();
    await broken.close();
  });

  test('is in the default chain when the config has a master key', () => {
    assert.ok(gw.gateway.generation.chain.plugins.some((p) => p.id === 'status_page'));
  });

  test('without the master key: the sign-in form (401) and no data, with a strict Content-Security-Policy', async () => {
    const callers: Record<string, string>[] = [{}, { authorization: `Bearer ${TEAM}` }, { authorization: 'Bearer wrong-key-000000' }, { cookie: 'sluice_ui=made-up-token' }];
    for (const headers of callers) {
      const page = await get(gw, '/ui', headers);
      assert.equal(page.status, 401, JSON.stringify(headers));
      assert.match(page.headers.get('content-type')!, /^text\/html/);
      assert.match(page.text, /<form method="post" action="\/ui\/login"/);
      assert.ok(!page.text.includes('alpha') && !page.text.includes('/ui/app.js'), 'the form carries no data and no script');
      const csp = page.headers.get('content-security-policy')!;
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.ok(!csp.includes('unsafe-inline') && !csp.includes('http'), csp);

      const data = await get(gw, '/ui/api/status', headers);
      assert.equal(data.status, 401);
      const error = (JSON.parse(data.text) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'invalid_api_key');
      assert.match(error.message, /needs the master key/);
    }
  });

  test('the master key as a Bearer header gets the page and the data', async () => {
    const page = await get(gw, '/ui', { authorization: `Bearer ${MASTER}` });
    assert.equal(page.status, 200);
    assert.match(page.text, /<script src="\/ui\/app.js" defer><\/script>/);
    assert.match(page.headers.get('content-security-policy')!, /default-src 'none'/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    const data = await get(gw, '/ui/api/status', { authorization: `Bearer ${MASTER}` });
    assert.equal(data.status, 200);
    assert.match(data.headers.get('content-type')!, /^application\/json/);
  });

  test('the sign-in form: a wrong key gets the form again with an error and no cookie', async () => {
    const wrong = await form(gw, '/ui/login', { key: 'sk-not-the-master-key' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(wrong.text, /id="login-error"[^>]*>That is not the master key\./);
    assert.ok(!wrong.text.includes('alpha'));
    const empty = await form(gw, '/ui/login', { key: '' });
    assert.equal(empty.status, 401);
    assert.match(empty.text, /Enter the master key/);
    const virtual = await form(gw, '/ui/login', { key: TEAM });
    assert.equal(virtual.status, 401, 'a virtual key does not open the page');
  });

  test('the sign-in form: the master key gets an HttpOnly, SameSite=Strict session cookie that is not the key', async () => {
    const signedIn = await form(gw, '/ui/login', { key: MASTER }, { origin: gw.url });
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.get('location'), '/ui');
    const set = signedIn.headers.get('set-cookie')!;
    assert.match(set, /^sluice_ui=[A-Za-z0-9_-]{40,}; Path=\/ui; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    assert.ok(!set.includes(MASTER) && !set.includes(Buffer.from(MASTER).toString('base64')));
    const cookie = cookieOf(signedIn);

    const page = await get(gw, '/ui', { cookie });
    assert.equal(page.status, 200);
    assert.equal((await get(gw, '/ui/api/status', { cookie })).status, 200);
    const tampered = `${cookie.slice(0, -2)}xx`;
    assert.equal((await get(gw, '/ui/api/status', { cookie: tampered })).status, 401);

    const out = await form(gw, '/ui/logout', {}, { cookie, origin: gw.url });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie')!, /^sluice_ui=; Path=\/ui; Max-Age=0/);
    assert.equal((await get(gw, '/ui/api/status', { cookie })).status, 401, 'signed out: the old cookie opens nothing');
  });

  test('a sign-in posted from another site gets no session', async () => {
    const forged = await form(gw, '/ui/login', { key: MASTER }, { origin: 'https://evil.example' });
    assert.equal(forged.status, 401);
    assert.equal(forged.headers.get('set-cookie'), null);
  });

  test('the data after real requests: counts per deployment and key, the error, the redacted config', async () => {
    const auth = { authorization: `Bearer ${TEAM}` };
    const ok = await post(`${gw.url}/v1/chat/completions`, chat('chat'), auth);
    assert.equal(ok.status, 200);
    const failed = await post(`${gw.url}/v1/chat/completions`, chat('flaky', { messages: [{ role: 'user', content: 'PROMPT-TEXT-MUST-NOT-SHOW' }] }), auth);
    assert.equal(failed.status, 500);

    const data = await get(gw, '/ui/api/status', { authorization: `Bearer ${MASTER}` });
    const status = JSON.parse(data.text) as StatusJson;
    assert.equal(status.refresh_ms, 3000);
    const byId = new Map(status.deployments.map((d) => [d.id, d]));
    assert.equal(byId.get('alpha')!.model_name, 'chat');
    assert.equal(byId.get('alpha')!.status, 'healthy');
    assert.equal(byId.get('alpha')!.requests, 1);
    assert.equal(byId.get('alpha')!.errors, 0);
    assert.equal(byId.get('alpha')!.requests_per_minute, 1);
    assert.equal(byId.get('alpha')!.in_flight, 0);
    assert.equal(typeof byId.get('alpha')!.latency_ms, 'number');
    assert.equal(byId.get('broken')!.errors, 1);
    assert.equal(status.totals.deployments, 2);
    assert.equal(status.totals.requests, 2);
    assert.equal(status.totals.errors, 1);

    const team = status.keys.find((k) => k.key === 'team-a')!;
    assert.equal(team.requests, 2);
    assert.equal(team.rpm_limit, 600);
    assert.equal(team.max_budget, 5);
    assert.ok(team.spend > 0, 'the spend plugin priced the answer');
    assert.ok(status.keys.some((k) => k.key === 'master'));

    const [latest] = status.recent_errors;
    assert.equal(latest!.status, 500);
    assert.equal(latest!.model, 'flaky');
    assert.equal(latest!.deployment, 'broken');
    assert.equal(latest!.key, 'team-a');

    assert.ok(status.config !== null);
    assert.match(status.config.file, /test-config\.yaml$/);
    assert.equal((status.config.sections['general_settings'] as Record<string, unknown>)['master_key'], '********');
    for (const secret of [MASTER, TEAM, BACKEND_KEY, 'PROMPT-TEXT-MUST-NOT-SHOW', 'Say hello']) {
      assert.ok(!data.text.includes(secret), `${secret} is in the status data`);
    }
  });

  test('a config reload keeps the counts and the sessions', async () => {
    const cookie = cookieOf(await form(gw, '/ui/login', { key: MASTER }));
    const before = (JSON.parse((await get(gw, '/ui/api/status', { cookie })).text) as StatusJson).totals.requests;
    const next = await gw.gateway.load(
      parseConfig(
        `general_settings: { master_key: ${MASTER} }\nmodel_list:\n  - model_name: chat\n    litellm_params: { model: openai/sim, api_base: ${alpha.url}/v1 }\n    model_info: { id: alpha }\n`,
        `${ROOT}/test-config.yaml`,
        {},
      ),
    );
    await gw.gateway.swap(next)?.retire();
    const after = await get(gw, '/ui/api/status', { cookie });
    assert.equal(after.status, 200);
    const status = JSON.parse(after.text) as StatusJson;
    assert.equal(status.totals.requests, before);
    assert.deepEqual(
      status.deployments.map((d) => d.id),
      ['alpha'],
    );
  });

  test('its assets are served by Sluice with their types; /ui/ leads to /ui', async () => {
    const js = await get(gw, '/ui/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /^text\/javascript/);
    assert.match(js.text, /\/ui\/api\/status/);
    const slash = await get(gw, '/ui/');
    assert.equal(slash.status, 308);
    assert.equal(slash.headers.get('location'), '/ui');
    const css = await get(gw, '/ui/style.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type')!, /^text\/css/);
  });
});

describe('status page switched off or misconfigured', () => {
  test('a config without a master key has no /ui', async () => {
    const gw = await startGateway('model_list:\n  - { model_name: m, litellm_params: { model: mock/m } }\n');
    try {
      assert.ok(!gw.gateway.generation.chain.plugins.some((p) => p.id === 'status_page'));
      assert.equal((await get(gw, '/ui')).status, 404);
    } finally {
      await gw.close();
    }
  });

  test('a plugins: list without it has no /ui; naming it without a master key is a config error', async () => {
    const gw = await startGateway(`general_settings: { master_key: ${MASTER} }\nplugins: [auth.api_key, route.round_robin]\nmodel_list:\n  - { model_name: m, litellm_params: { model: mock/m } }\n`);
    try {
      assert.equal((await get(gw, '/ui', { authorization: `Bearer ${MASTER}` })).status, 404);
    } finally {
      await gw.close();
    }
    await assert.rejects(startGateway('plugins: [route.round_robin, status_page]\nmodel_list:\n  - { model_name: m, litellm_params: { model: mock/m } }\n'), /status_page needs a master key/);
  });

  test('wrong keys at the sign-in form: after LOGIN_FAILURES_MAX from one address, a 429 even for the right key', async () => {
    const gw = await startGateway(`general_settings: { master_key: ${MASTER} }\nmodel_list:\n  - { model_name: m, litellm_params: { model: mock/m } }\n`);
    try {
      for (let i = 0; i < LOGIN_FAILURES_MAX; i++) assert.equal((await form(gw, '/ui/login', { key: `sk-guess-${i}` })).status, 401);
      const refused = await form(gw, '/ui/login', { key: MASTER });
      assert.equal(refused.status, 429);
      assert.match(refused.text, /Too many wrong keys/);
      assert.equal(refused.headers.get('set-cookie'), null);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
    } finally {
      await gw.close();
    }
  });
});
