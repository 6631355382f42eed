// Test helpers: a real gateway on an ephemeral port from inline YAML, and small HTTP clients.

import { request } from 'node:http';
import { resolve } from 'node:path';
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
