// Translation budgets: one streamed event of a backend's answer turned into the client's API, per translator.
//
//   npm run bench:translation     print the table; exit 1 if a translator is over its budget
//
// Each task starts a translator and feeds it BATCH events, one network chunk each (the worst case: nothing is
// amortized over several events per chunk), so the per-op figure is the cost of one event, JSON parse and output
// included. Budget: 5 µs per event on average. The p99 is of batch means: about one batch in a hundred holds a
// young-generation scavenge (1 to 2 ms spread over its 200 events), which is what the 15 µs p99 budget allows for.

import { Bench } from 'tinybench';
import { budgetRows, type Budget } from './budget.ts';
import { anthropicBackend } from '../core/providers/anthropic.ts';
import { messagesBridge } from '../core/providers/anthropic-messages.ts';
import { ollamaBridge } from '../core/providers/ollama-api.ts';
import { responsesBridge } from '../core/providers/openai-responses.ts';
import type { ResponseTranslator } from '../core/providers/wire-format.ts';

const BATCH = 200;
const SSE_HEAD = { 'content-type': 'text/event-stream; charset=utf-8' } as const;
let sink = 0;

/** An OpenAI chat stream as vLLM sends it: one chunk per token, a few words of text each. */
function openaiChunks(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const chunk = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1764633600, model: 'm', choices: [{ index: 0, delta: { content: ` token${i} and` }, logprobs: null, finish_reason: null }] };
    out.push(Buffer.from(`data: ${JSON.stringify(chunk)}\n\n`));
  }
  return out;
}

/** An Anthropic Messages stream's text deltas, as the `anthropic/` backend translator reads them. */
function messagesChunks(n: number): Buffer[] {
  const start = `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}\n\nevent: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n`;
  const out: Buffer[] = [Buffer.from(start)];
  for (let i = 1; i < n; i++) out.push(Buffer.from(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" token${i} and"}}\n\n`));
  return out;
}

const openai = openaiChunks(BATCH);
const messages = messagesChunks(BATCH);
const chatBody = { model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true };

function run(make: () => ResponseTranslator, events: readonly Buffer[]): void {
  const translator = make();
  translator.start(200, SSE_HEAD);
  for (const event of events) sink += translator.data(event).length;
}

const budgets: (Budget & { fn: () => void })[] = [
  { name: 'OpenAI chunk → Ollama NDJSON line', meanUs: 5, p99Us: 15, fn: () => run(() => ollamaBridge.fromOpenAI('m', { ...chatBody }, 'chat'), openai) },
  { name: 'OpenAI chunk → Messages events', meanUs: 5, p99Us: 15, fn: () => run(() => messagesBridge.fromOpenAI('m', { ...chatBody, max_tokens: 100 }, 'chat'), openai) },
  { name: 'OpenAI chunk → Responses events', meanUs: 5, p99Us: 15, fn: () => run(() => responsesBridge.fromOpenAI('m', { model: 'm', input: 'hi', stream: true }, 'chat'), openai) },
  { name: 'Messages event → OpenAI chunk (anthropic/ backend)', meanUs: 5, p99Us: 15, fn: () => run(() => anthropicBackend.translator('m', chatBody), messages) },
];

const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 });
for (const { name, fn } of budgets) bench.add(name, fn);
await bench.run();
const { rows, failed } = budgetRows(bench, budgets, BATCH, 'translator (per event)');
console.table(rows);
if (sink === 0) throw new Error('no output: the translators produced nothing');
if (failed > 0) {
  console.error(`${failed} translator(s) over budget`);
  process.exitCode = 1;
}
