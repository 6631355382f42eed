// Runs one simulator as its own process, so a load benchmark measures the gateway without sharing its event loop:
//   node test/sim/cli.ts --kind openai|ollama --port 9001 [--host H] [--delay-ms N] [--chunk-interval-ms N]
//                        [--tokens N] [--text "..."] [--status N] [--stamp] [--models a,b]
// Prints `listening <url>` once ready; SIGTERM/SIGINT close it and the process exits 0.

import { parseArgs } from 'node:util';
import { startOpenAISim } from './openai-sim.ts';
import { startOllamaSim } from './ollama-sim.ts';

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} wants a non-negative integer, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    kind: { type: 'string', default: 'openai' },
    port: { type: 'string', default: '9001' },
    host: { type: 'string', default: '127.0.0.1' },
    'delay-ms': { type: 'string' },
    'chunk-interval-ms': { type: 'string' },
    tokens: { type: 'string' },
    text: { type: 'string' },
    status: { type: 'string' },
    stamp: { type: 'boolean', default: false },
    models: { type: 'string' },
  },
  strict: true,
});

const port = int('port', values.port) ?? 9001;
const delayMs = int('delay-ms', values['delay-ms']);
const chunkIntervalMs = int('chunk-interval-ms', values['chunk-interval-ms']);
const tokens = int('tokens', values.tokens);

let sim: { url: string; close(): Promise<void> };
if (values.kind === 'openai') {
  const status = int('status', values.status);
  sim = await startOpenAISim({
    port,
    host: values.host,
    ...(delayMs !== undefined && { delayMs }),
    ...(chunkIntervalMs !== undefined && { chunkIntervalMs }),
    ...(tokens !== undefined && { tokens }),
    ...(values.text !== undefined && { text: values.text }),
    ...(status !== undefined && { status }),
    stampChunks: values.stamp,
  });
} else if (values.kind === 'ollama') {
  sim = await startOllamaSim({
    port,
    host: values.host,
    ...(delayMs !== undefined && { delayMs }),
    ...(chunkIntervalMs !== undefined && { chunkIntervalMs }),
    ...(tokens !== undefined && { tokens }),
    ...(values.models !== undefined && { models: values.models.split(',').filter((m) => m !== '') }),
  });
} else {
  process.stderr.write(`--kind must be openai or ollama, got ${JSON.stringify(values.kind)}\n`);
  process.exit(2);
}

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // Closing the server leaves nothing on the event loop, so the process ends by itself with code 0.
  void sim.close();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`listening ${sim.url}\n`);
