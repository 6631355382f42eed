// The documented command: `node core/main.js --config proxy.yaml`, with --port/--host overrides and --check.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers.ts';

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
      const timer = setTimeout(() => reject(new Error(`no listening line: ${seen}`)), 10_000);
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

test("the README's example plugin is the real file, verbatim", async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const source = readFileSync(join(ROOT, 'plugins', 'examples', 'token-cap', 'index.ts'), 'utf8');
  assert.ok(readme.includes('```ts\n' + source + '```'), 'README example plugin and plugins/examples/token-cap/index.ts differ');
});
