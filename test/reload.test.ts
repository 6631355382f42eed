// Hot reload: SIGHUP re-reads the config, swaps a new generation in for new requests while streams in flight finish
// on theirs, refuses a broken config, and keeps the router state of the deployments the reload did not change.

import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { App } from '../core/app.ts';
import { parseConfig } from '../core/config/load.ts';
import { createLogger } from '../core/logger.ts';
import { changesBetween, needsRestart } from '../core/reload.ts';
import { STANDARD_MODULES } from '../plugins/standard.ts';
import { chat, post, ROOT, startCli, startHeldBackend, until } from './helpers.ts';

const STREAMS = 30;

/** `stay` points at the held backend in every version; the other groups come and go. */
const configWith = (backend: string, groups: readonly string[], server = ''): string =>
  `${server}plugins: [route.round_robin]
model_list:
  - { model_name: stay, litellm_params: { model: openai/held, api_base: ${backend}/v1 } }
${groups.map((name) => `  - { model_name: ${name}, litellm_params: { model: openai/${name}, api_base: ${backend}/v1 } }`).join('\n')}
`;

describe('SIGHUP reload of a running gateway', () => {
  test(`${STREAMS} streams in flight finish on the old config; new requests use the new one; a broken config is refused`, { timeout: 180_000 }, async () => {
    const backend = await startHeldBackend();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-reload-'));
    const file = join(dir, 'proxy.yaml');
    writeFileSync(file, configWith(backend.url, ['old']));
    const { child, exited, waitFor } = startCli(file);
    try {
      const url = `http://127.0.0.1:${(await waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;
      const streams = Array.from({ length: STREAMS }, (_, i) => post(`${url}/v1/chat/completions`, chat(i % 2 === 0 ? 'stay' : 'old', { stream: true })));
      // A failed assertion kills the gateway: the streams then fail, and that must not hide the assertion.
      for (const stream of streams) stream.catch(() => {});
      await until(`${STREAMS} streams are open at the backend`, () => backend.open === STREAMS);

      // `old` removed, `fresh` added, and a listener setting that a reload cannot apply.
      writeFileSync(file, configWith(backend.url, ['fresh'], 'server: { port: 4999 }\n'));
      child.kill('SIGHUP');
      const reloaded = await waitFor(/SIGHUP: config reloaded.*/);
      assert.match(reloaded[0], /models_added=fresh models_removed=old /);
      assert.match(reloaded[0], /deployments_kept=1 /, 'the unchanged `stay` deployment keeps its id');
      assert.match(reloaded[0], new RegExp(`in_flight_on_previous=${STREAMS}`));
      await waitFor(/SIGHUP: changed but needs a restart, not applied: server\.port/);

      assert.equal((await post(`${url}/v1/chat/completions`, chat('fresh'))).status, 200, 'a group the reload added answers');
      assert.equal((await post(`${url}/v1/chat/completions`, chat('old'))).status, 404, 'a group the reload removed is gone for new requests');

      // Line 3 carries the mistake; the running config must keep serving.
      writeFileSync(file, configWith(backend.url, ['broken']).replace('plugins: [route.round_robin]\n', 'plugins: [route.round_robin]\nserver:\n  colour: blue\n'));
      child.kill('SIGHUP');
      await waitFor(/SIGHUP: config refused, the running config keeps serving/);
      await waitFor(/SIGHUP: line 3: server: unknown key "colour"/);
      assert.equal((await post(`${url}/v1/chat/completions`, chat('fresh'))).status, 200, 'the last good config still serves');
      assert.equal((await post(`${url}/v1/chat/completions`, chat('broken'))).status, 404, 'nothing of the refused config is live');

      backend.release();
      const done = await Promise.all(streams);
      for (const [i, res] of done.entries()) {
        assert.equal(res.status, 200, `stream ${i}`);
        assert.match(res.body.toString(), /"content":"held"[\s\S]*data: \[DONE\]\n\n$/, `stream ${i} ran to its end`);
      }
      await waitFor(/SIGHUP: previous config closed \(its last request ended\)/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      await backend.close();
    }
  });
});

describe('--watch', () => {
  test('a saved edit reloads the config; an edit replaced by rename too; a broken one is refused', { timeout: 180_000 }, async () => {
    const backend = await startHeldBackend();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-watch-'));
    const file = join(dir, 'proxy.yaml');
    writeFileSync(file, configWith(backend.url, ['old']));
    const { child, exited, waitFor } = startCli(file, ['--watch']);
    try {
      const url = `http://127.0.0.1:${(await waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;
      writeFileSync(file, configWith(backend.url, ['fresh']));
      await waitFor(/config file changed: config reloaded.* models_added=fresh models_removed=old /);
      assert.equal((await post(`${url}/v1/chat/completions`, chat('fresh'))).status, 200);

      // As editors and ConfigMap updates save: a new file renamed over the old one.
      writeFileSync(join(dir, 'proxy.yaml.tmp'), configWith(backend.url, ['renamed']));
      renameSync(join(dir, 'proxy.yaml.tmp'), file);
      await waitFor(/config file changed: config reloaded.* models_added=renamed models_removed=fresh /);

      writeFileSync(file, 'plugins: [route.round_robin]\nmodel_list: [ oops\n');
      await waitFor(/config file changed: config refused, the running config keeps serving/);
      await waitFor(/config file changed: line \d+: YAML syntax/);
      assert.equal((await post(`${url}/v1/chat/completions`, chat('renamed'))).status, 200, 'the last good config still serves');
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      await backend.close();
    }
  });
});

describe('router state across a reload (App.load + swap)', () => {
  const yaml = (groups: string, key = 'sk-backend-key-1'): string => `
plugins: [route.round_robin]
model_list:
  - { model_name: stay, litellm_params: { model: openai/m, api_base: http://127.0.0.1:9/v1, api_key: ${key} } }
${groups}`;
  const load = (text: string) => parseConfig(text, `${ROOT}/test-config.yaml`, {});

  test('a deployment the reload did not change keeps its id, cooldown, in-flight count and latency; a removed one is gone', async () => {
    const app = await App.create(load(yaml('  - { model_name: gone, litellm_params: { model: openai/g, api_base: http://127.0.0.2:9/v1 } }')), STANDARD_MODULES, createLogger('silent'));
    try {
      const first = app.generation;
      const stay = first.groups.get('stay')!.deployments[0]!.id;
      const now = Date.now();
      app.state.coolDown(stay, now + 60_000, 'test', now);
      app.state.acquire(stay);
      app.state.observeLatency(stay, 250);

      // The backend key rotated: a secret is not part of the id, so the deployment is the same one.
      const next = await app.load(load(yaml('  - { model_name: added, litellm_params: { model: openai/a, api_base: http://127.0.0.3:9/v1 } }', 'sk-backend-key-2')));
      app.swap(next);
      assert.equal(next.groups.get('stay')!.deployments[0]!.id, stay);
      assert.equal(app.state.unavailable(stay, now), 'cooldown');
      assert.equal(app.state.inFlight(stay), 1);
      assert.equal(app.state.latency(stay), 250);
      assert.deepEqual(changesBetween(first, next), {
        groupsAdded: ['added'],
        groupsRemoved: ['gone'],
        groupsChanged: [],
        pluginsAdded: [],
        pluginsRemoved: [],
        deploymentsKept: 1,
      });
      await first.retire();
    } finally {
      await app.close();
    }
  });

  test('a retired generation closes only once its last request has closed', async () => {
    const app = await App.create(load(yaml('')), STANDARD_MODULES, createLogger('silent'));
    try {
      const first = app.generation;
      first.enter();
      app.swap(await app.load(load(yaml(''))));
      let closed = false;
      const retired = first.retire().then(() => (closed = true));
      await new Promise((r) => setImmediate(r));
      assert.equal(closed, false, 'a request is still on it');
      first.leave();
      await retired;
      assert.equal(closed, true);
    } finally {
      await app.close();
    }
  });

  test('needsRestart names the listener, log, pool and redis settings that changed, and nothing a reload applies', () => {
    const started = load(yaml(''));
    assert.deepEqual(needsRestart(started, load(yaml(''))), []);
    const edited = load(`server: { host: 127.0.0.1, port: 4001, body_limit: 1mb, timeouts: { upstream_idle: 5000 } }\nredis: { url: redis://127.0.0.1:6390 }\n${yaml('')}`);
    assert.deepEqual(needsRestart(started, edited), ['server.host', 'server.port', 'server.timeouts.upstream_idle', 'redis']);
  });
});
