// The documented command: `node core/main.js --config proxy.yaml`, with --port/--host overrides and --check.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chat, ROOT, startCli } from './helpers.ts';
import { startOpenAISim } from './sim/openai-sim.ts';

const MAIN = join(ROOT, 'core', 'main.js');
const EXAMPLE = join(ROOT, 'config', 'proxy.example.yaml');

test('--check accepts the bundled example config', () => {
  const result = spawnSync(process.execPath, [MAIN, '--config', EXAMPLE, '--check'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /ok \(2 model groups/);
});

test('--check exits 1 and prints every error of a bad config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'server:\n  port: -1\n  colour: blue\nplugins: [no.such]\nmodel_list: []\n');
  const result = spawnSync(process.execPath, [MAIN, '--config', file, '--check'], { encoding: 'utf8' });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /2 errors/);
  assert.match(result.stderr, /line 2: server\.port: must be >= 0/);
  assert.match(result.stderr, /line 3: server: unknown key "colour"/);
});

test('a missing config file is a clear error', () => {
  const result = spawnSync(process.execPath, [MAIN, '--config', '/nonexistent/proxy.yaml'], { encoding: 'utf8' });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /cannot read the file: ENOENT/);
});

test('the gateway starts on the example config; --port and --host override it; SIGTERM stops it', async () => {
  const child = spawn(process.execPath, [MAIN, '--config', EXAMPLE, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`no listening line: ${seen}`)), 60_000);
      child.stderr.on('data', (d: Buffer) => {
        seen += d.toString();
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
        if (match !== null) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });
    assert.notEqual(port, 4000);
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    assert.match(body.choices[0]!.message.content, /Hello from Sluice/);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test("the plugin guide's example plugin (docs/plugins.md) is the real file, verbatim", async () => {
  const { readFileSync } = await import('node:fs');
  const guide = readFileSync(join(ROOT, 'docs', 'plugins.md'), 'utf8');
  const source = readFileSync(join(ROOT, 'plugins', 'examples', 'token-cap', 'index.ts'), 'utf8');
  assert.ok(guide.includes('```ts\n' + source + '```'), 'the example plugin in docs/plugins.md and plugins/examples/token-cap/index.ts differ');
});


test('SIGHUP without TLS keeps the gateway running and reloads the config', { timeout: 120_000 }, async () => {
  const { child, exited, waitFor } = startCli(EXAMPLE);
  try {
    const port = Number((await waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    child.kill('SIGHUP');
    await waitFor(/SIGHUP: config reloaded; .* models_added=- models_removed=- models_changed=- .*deployments_kept=2 /);
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('mock-gpt') });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('SIGTERM: past server.timeouts.shutdown, a stream still open gets the SSE error event, then the process exits', { timeout: 120_000 }, async () => {
  // The backend sends one event, then holds the stream open far longer than the test runs.
  const sim = await startOpenAISim({ chunkIntervalMs: 600_000 });
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  const file = join(dir, 'proxy.yaml');
  writeFileSync(file, `server:\n  timeouts: { shutdown: 1 }\nplugins: [route.round_robin]\nmodel_list:\n  - { model_name: slow, litellm_params: { model: openai/sim-model, api_base: ${sim.url} } }\n`);
  const { child, exited, waitFor } = startCli(file);
  try {
    const port = Number((await waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const events: string[] = [];
    let sawFirst: () => void = () => {};
    const first = new Promise<void>((resolve) => (sawFirst = resolve));
    const ended = new Promise<number>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          buffered += text;
          let blank: number;
          while ((blank = buffered.indexOf('\n\n')) !== -1) {
            events.push(buffered.slice(0, blank));
            buffered = buffered.slice(blank + 2);
            if (events.length === 1) sawFirst();
          }
        });
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(chat('slow', { stream: true }));
    });
    await first;
    child.kill('SIGTERM');
    assert.equal(await ended, 200);
    assert.equal(events.length, 2, events.join('\n\n'));
    assert.match(events[0]!, /"chat\.completion\.chunk"/);
    const last = JSON.parse(events[1]!.replace(/^data: /, '')) as { error: { code: string; type: string } };
    assert.deepEqual([last.error.code, last.error.type], ['server_shutting_down', 'service_unavailable_error']);
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await sim.close();
  }
});

test('--check and a start both refuse a master_key whose environment variable is unset (fail closed, not auth off)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  const file = join(dir, 'unset-master-key.yaml');
  writeFileSync(file, 'general_settings:\n  master_key: os.environ/SLUICE_TEST_UNSET_MASTER_KEY\nmodel_list:\n  - model_name: m\n    litellm_params: { model: mock/m }\n');
  const env = { ...process.env };
  delete env['SLUICE_TEST_UNSET_MASTER_KEY'];
  for (const args of [['--check'], ['--port', '0', '--host', '127.0.0.1']]) {
    const result = spawnSync(process.execPath, [MAIN, '--config', file, ...args], { encoding: 'utf8', env, timeout: 120_000 });
    assert.equal(result.status, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /line 2: general_settings\.master_key: environment variable SLUICE_TEST_UNSET_MASTER_KEY is not set; refusing to start/);
  }
});

test('--check ends with a summary of what will not act: each ignored key once, each skipped provider once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  const file = join(dir, 'partial.yaml');
  writeFileSync(
    file,
    `model_list:
  - model_name: m
    litellm_params: { model: mock/m }
  - model_name: claude
    litellm_params: { model: bedrock/anthropic.claude-3, aws_region_name: us-east-1 }
  - model_name: claude
    litellm_params: { model: bedrock/anthropic.claude-3-haiku }
  - model_name: gemini
    litellm_params: { model: vertex_ai/gemini-pro }
litellm_settings:
  success_callback: [langfuse]
  callbacks: [prometheus]
general_settings:
  database_url: postgresql://db/litellm
router_settings:
  retry_policy: { ServiceUnavailableErrorRetries: 2 }
telemetry: false
`,
  );
  const result = spawnSync(process.execPath, [MAIN, '--config', file, '--check'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.match(lines[0]!, /ok \(1 model groups/);
  assert.deepEqual(lines.slice(1), [
    'will not act:',
    // callbacks: [prometheus] acts (the metrics plugin); langfuse does not.
    '  ignored keys (4): telemetry, general_settings.database_url, router_settings.retry_policy.ServiceUnavailableErrorRetries, litellm_settings.success_callback "langfuse"',
    '  skipped providers (2): bedrock/ (2 deployments), vertex_ai/ (1 deployment)',
  ]);
  // A config where everything acts has no summary.
  assert.doesNotMatch(spawnSync(process.execPath, [MAIN, '--config', EXAMPLE, '--check'], { encoding: 'utf8' }).stdout, /will not act/);
});
