// What a gateway loads, not how much memory it has (RSS varies from run to run): the example config must not pull in
// the big tables (tinyld's n-grams, ~110 MB of RSS; gpt-tokenizer's encodings) nor clients it has no use for
// (ioredis, prom-client, http-proxy-3, busboy, undici, Node's own bundled undici), at startup or while it
// serves errors in every catalogue language. Each of them still loads once a config or a request needs it, which
// shows the trace sees them. V8's optimizing compilers are off while the gateway starts and back on for its traffic.
// bench/memory.ts measures the RSS.

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { chat, post, ROOT } from './helpers.ts';

/** The gateway as a child process, every module it loads listed by test/module-trace.ts. */
class TracedGateway {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #modules = new Set<string>();
  readonly #builtins = new Set<string>();
  #log = '';
  #stdout = '';
  readonly exited: Promise<void>;

  constructor(config: string, nodeFlags: readonly string[] = []) {
    this.#child = spawn(process.execPath, [
      ...nodeFlags,
      '--import',
      join(ROOT, 'test', 'module-trace.ts'),
      join(ROOT, 'core', 'main.js'),
      '--config',
      config,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
    ]);
    let pending = '';
    this.#child.stderr.on('data', (data: Buffer) => {
      pending += data.toString('utf8');
      let cut: number;
      while ((cut = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, cut);
        pending = pending.slice(cut + 1);
        if (line.startsWith('SLUICE_MODULE ')) this.#modules.add(line.slice('SLUICE_MODULE '.length));
        else if (line.startsWith('SLUICE_BUILTIN ')) this.#builtins.add(line.slice('SLUICE_BUILTIN '.length));
        else this.#log += line + '\n';
      }
    });
    this.#child.stdout.on('data', (data: Buffer) => (this.#stdout += data.toString('utf8')));
    // 'close', not 'exit': the output printed at exit has been read by then.
    this.exited = new Promise((resolve) => this.#child.once('close', () => resolve()));
  }

  /** The port, once the gateway logs that it listens. A guard against a hang, not a speed check. */
  async port(): Promise<number> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(this.#log);
      if (match !== null) return Number(match[1]);
      if (this.#child.exitCode !== null || Date.now() > deadline) throw new Error(`the gateway did not start:\n${this.#log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Loaded packages by name (`tinyld`, `@scope/name`), from their resolved file URLs. */
  packages(): Set<string> {
    const names = new Set<string>();
    for (const url of this.#modules) {
      const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
      if (match !== null) names.add(match[1]!);
    }
    return names;
  }

  loaded(pathInRepo: string): boolean {
    return [...this.#modules].some((url) => url.endsWith(`/${pathInRepo}`));
  }

  /** Node's own modules and bindings (`NativeModule http`, `Internal Binding fs`); listed once the process exited. */
  builtins(): Set<string> {
    return this.#builtins;
  }

  /** What the process printed on stdout so far (V8's `--trace-opt` lines go there). */
  stdout(): string {
    return this.#stdout;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
    await this.exited;
  }
}

/**
 * Not loaded by the example config, whatever it serves. undici serves only https:// backends, uploads and remote
 * guards: plain-HTTP traffic goes through the raw client, health probes through node:http.
 */
const HEAVY = ['tinyld', 'gpt-tokenizer', 'ioredis', 'prom-client', 'http-proxy-3', 'busboy', 'undici'];

const dir = mkdtempSync(join(tmpdir(), 'sluice-footprint-'));
const gateways: TracedGateway[] = [];
after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function traced(config: string, nodeFlags: readonly string[] = []): TracedGateway {
  const gateway = new TracedGateway(config, nodeFlags);
  gateways.push(gateway);
  return gateway;
}

/** An unknown model's 404, in the language of `text`. */
async function errorIn(port: number, text: string): Promise<string | undefined> {
  const res = await post(`http://127.0.0.1:${port}/v1/chat/completions`, JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: text }] }));
  assert.equal(res.status, 404);
  return res.headers['content-language'] as string | undefined;
}

describe('what the example config loads', () => {
  test('no n-gram tables, tokenizer, Redis or Prometheus client while it starts and localizes errors', async () => {
    const gateway = traced(join(ROOT, 'config', 'proxy.example.yaml'));
    const port = await gateway.port();
    const texts: Record<string, string> = {
      en: 'Could you please write a short poem about the autumn rain?',
      'zh-Hans': '请帮我写一首关于秋天下雨的短诗',
      'zh-Hant': '請幫我寫一首關於秋天下雨的短詩',
      vi: 'Bạn có thể viết giúp tôi một bài thơ ngắn về mưa mùa thu không?',
      ja: '秋の雨についての短い詩を書いてください。',
      ko: '가을비에 관한 짧은 시를 써 주세요.',
      ru: 'Пожалуйста, напиши короткое стихотворение об осеннем дожде.',
      ar: 'من فضلك اكتب قصيدة قصيرة عن مطر الخريف.',
    };
    for (const [lang, text] of Object.entries(texts)) assert.equal(await errorIn(port, text), lang, text);
    // German is none of the catalogue's languages: English (the default), without loading a model to say so.
    assert.equal(await errorIn(port, 'Kannst du mir bitte ein kurzes Gedicht über den Herbstregen schreiben?'), 'en');
    const ok = await post(`http://127.0.0.1:${port}/v1/chat/completions`, chat('mock-gpt', { stream: true }));
    assert.equal(ok.status, 200);

    // The trace works: the localizer and the guards were loaded, and so were the packages the config uses.
    assert.ok(gateway.loaded('plugins/localizer/detect.ts') && gateway.loaded('plugins/guard/index.ts'));
    const packages = gateway.packages();
    assert.ok(packages.has('yaml'), [...packages].join(', '));
    for (const name of HEAVY) assert.ok(!packages.has(name), `${name} was loaded: ${[...packages].join(', ')}`);

    // The tokenizer comes with the first request that counts tokens.
    const count = await post(`http://127.0.0.1:${port}/v1/messages/count_tokens`, JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'How many tokens is this?' }] }));
    assert.equal(count.status, 200);
    assert.ok(gateway.packages().has('gpt-tokenizer'));

    // Node's own bundled undici (its fetch and WebSocket) is not loaded either: nothing imports node:http's lazy
    // `WebSocket` getter. The list is printed at exit, and shows node:http itself.
    await gateway.stop();
    const builtins = gateway.builtins();
    assert.ok(builtins.has('NativeModule http'), [...builtins].slice(0, 20).join(', '));
    assert.ok(!builtins.has('NativeModule internal/deps/undici/undici'));
  });

  test('an https:// backend loads undici\'s Pool with its first request, and not undici\'s index', async () => {
    const example = readFileSync(join(ROOT, 'config', 'proxy.example.yaml'), 'utf8');
    const config = join(dir, 'https-backend.yaml');
    // Port 1 refuses the connection: the request fails with a 502, after the pool was made.
    writeFileSync(config, `${example.trimEnd()}\n  - model_name: far\n    litellm_params: { model: openai/far, api_base: https://127.0.0.1:1/v1 }\n`);
    const gateway = traced(config);
    const port = await gateway.port();
    assert.ok(!gateway.packages().has('undici'), 'undici was loaded before a request needed it');
    const res = await post(`http://127.0.0.1:${port}/v1/chat/completions`, chat('far'));
    assert.equal(res.status, 502);
    assert.ok(gateway.loaded('undici/lib/dispatcher/pool.js') && gateway.loaded('undici/lib/dispatcher/agent.js'));
    // Pool and Agent without undici's index (fetch, WebSocket, mocks, cache stores).
    assert.ok(!gateway.loaded('undici/index.js') && !gateway.loaded('undici/lib/web/fetch/index.js'));
  });

  test('the optimizing compilers are back on once it listens: traffic gets TurboFan code', async () => {
    const gateway = traced(join(ROOT, 'config', 'proxy.example.yaml'), ['--trace-opt']);
    const port = await gateway.port();
    // Requests until V8 reports an optimized function (its trace is block-buffered on a pipe, so it comes in bursts);
    // a count, not a time, and the guard only stops a hang.
    let requests = 0;
    while (!/target TURBOFAN/.test(gateway.stdout())) {
      assert.ok(requests < 50_000, `no TurboFan compilation after ${requests} requests`);
      const res = await post(`http://127.0.0.1:${port}/v1/chat/completions`, JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: `hello ${requests}` }] }));
      assert.equal(res.status, 404);
      requests++;
    }
  });

  test('a catalogue with a language only the n-gram model tells (French) loads it at startup', async () => {
    const example = readFileSync(join(ROOT, 'config', 'proxy.example.yaml'), 'utf8');
    const config = join(dir, 'french.yaml');
    writeFileSync(config, example.replace('  default_language: en\n', '  default_language: en\n  messages: { fr: { SLUICE_MODEL_NOT_FOUND: "Modèle inconnu." } }\n'));
    assert.notEqual(readFileSync(config, 'utf8'), example);
    const gateway = traced(config);
    const port = await gateway.port();
    assert.ok(gateway.packages().has('tinyld'));
    assert.equal(await errorIn(port, 'Peux-tu m’écrire un petit poème sur la pluie d’automne ?'), 'fr');
  });
});
