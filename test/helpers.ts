// Test helpers: a real gateway on an ephemeral port from inline YAML, and small HTTP clients.

import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after } from 'node:test';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';
import { parseConfig } from '../core/config/load.ts';
import { App } from '../core/app.ts';
import { STANDARD_MODULES } from '../plugins/standard.ts';
import { listen, type Listening } from '../core/server/listener.ts';
import { createLogger, type Logger } from '../core/logger.ts';

export const ROOT = resolve(import.meta.dirname, '..');

export interface TestGateway {
  readonly url: string;
  readonly port: number;
  readonly gateway: App;
  readonly listening: Listening;
  close(): Promise<void>;
}

/** Starts a gateway from YAML text. Relative plugin paths resolve against `dir` (default: the repo root). */
export async function startGateway(yaml: string, options: { dir?: string; logger?: Logger } = {}): Promise<TestGateway> {
  const config = parseConfig(yaml, resolve(options.dir ?? ROOT, 'test-config.yaml'), {});
  const gateway = await App.create(config, STANDARD_MODULES, options.logger ?? createLogger('silent'));
  const listening = await listen(gateway, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${listening.port}`,
    port: listening.port,
    gateway,
    listening,
    close: () => listening.close(1000),
  };
}

/** A logger that keeps its lines, for asserting on what plugins log. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('debug', 'text', (line) => lines.push(line)), lines };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** performance.timeOrigin + performance.now() at each chunk's arrival, with the chunk. */
  chunks: { at: number; data: Buffer }[];
}

/** POSTs with node:http and keeps every chunk with its arrival time. */
export function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: { at: number; data: Buffer }[] = [];
      res.on('data', (data: Buffer) => chunks.push({ at: performance.timeOrigin + performance.now(), data }));
      res.on('end', () =>
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks.map((c) => c.data)), chunks }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function chat(model: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello' }], ...extra });
}

export function json(res: RawResponse): Record<string, unknown> {
  return JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
}

export function errorOf(res: RawResponse): { message: string; type: string; param: string | null; code: string } {
  return (json(res) as { error: { message: string; type: string; param: string | null; code: string } }).error;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for `cond`, polling. The deadline only catches a hang: it is far above anything a busy machine needs, so
 * no test depends on how fast something happens, only on whether it does.
 */
export async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await sleep(5);
  }
}

/** `until` for a condition that needs I/O to check; polls every 20 ms, with the same hang guard. */
export async function untilAsync(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`${what}: not true after ${ms} ms`);
    await sleep(20);
  }
}

/**
 * `promise`, or a failure if it has not settled within `ms` (default 60 s). For "does not wait on X" where waiting
 * on X would take much longer than `ms` (a minute's latency or command timeout), so only a hang trips it.
 */
export async function settles<T>(what: string, promise: Promise<T>, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled after ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HeldBackend {
  readonly url: string;
  /** Streams begun and not yet released. */
  readonly open: number;
  /** POSTs received, streams or not. */
  readonly requests: number;
  /** Ends every open stream normally (last chunk, [DONE]). */
  release(): void;
  close(): Promise<void>;
}

/**
 * An OpenAI-style backend whose streams stay open until `release()`, so a test holds requests in flight for as
 * long as it needs instead of guessing how long a paced stream lasts on a busy machine. Other requests get a short
 * chat answer at once.
 */
export async function startHeldBackend(): Promise<HeldBackend> {
  const held: ServerResponse[] = [];
  let requests = 0;
  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    `data: ${JSON.stringify({ id: 'held', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (data: Buffer) => (body += data));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.end('{}');
      requests++;
      if ((JSON.parse(body) as { stream?: unknown }).stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk({ role: 'assistant', content: 'held' }, null));
        held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'now', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'now' }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get open() {
      return held.length;
    },
    get requests() {
      return requests;
    },
    release() {
      for (const res of held.splice(0)) res.end(chunk({}, 'stop') + 'data: [DONE]\n\n');
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The gateway as a child process on an ephemeral port; `waitFor` resolves when its log shows a line. */
export function startCli(config: string, extraArgs: readonly string[] = []): { child: ChildProcessWithoutNullStreams; exited: Promise<number | null>; waitFor(pattern: RegExp): Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, [join(ROOT, 'core', 'main.js'), '--config', config, '--port', '0', '--host', '127.0.0.1', ...extraArgs]);
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => {
    // A child that dies shows why in a failure message instead of a bare timeout.
    log += `\n[child exited code=${code} signal=${signal}]`;
    resolve(code);
  }));
  const waitFor = (pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      // A guard against a hang, not a speed check: a gateway starting on a loaded machine may take many seconds.
      const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${log}`)), 60_000);
      const check = (): void => {
        const match = pattern.exec(log);
        if (match === null) return;
        clearTimeout(timer);
        child.stderr.off('data', check);
        resolve(match);
      };
      child.stderr.on('data', check);
      check();
    });
  return { child, exited, waitFor };
}

/**
 * Servers a test file starts, closed once its tests are done. Call at module level:
 * `const { sim, gateway, track } = closedAfterFile();`
 */
export function closedAfterFile(): {
  track<T extends { close(): Promise<void> }>(server: T): T;
  sim(knobs?: Parameters<typeof startOpenAISim>[0]): Promise<Sim>;
  gateway(yaml: string): Promise<TestGateway>;
} {
  const started: { close(): Promise<void> }[] = [];
  after(async () => {
    await Promise.all(started.map((s) => s.close()));
  });
  const track = <T extends { close(): Promise<void> }>(server: T): T => {
    started.push(server);
    return server;
  };
  return { track, sim: async (knobs = {}) => track(await startOpenAISim(knobs)), gateway: async (yaml) => track(await startGateway(yaml)) };
}
