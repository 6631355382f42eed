// guard.llm_guard_api: a remote LLM Guard API server as a guard, for teams that keep its ML scanners (30–200 ms
// each on a CPU). Put it after the built-in guards: a request they block never costs a remote call.
//
//   - name: guard.llm_guard_api
//     options:
//       url: http://127.0.0.1:8000        # the LLM Guard API server
//       token: os.environ/LLM_GUARD_TOKEN # its AUTH_TOKEN, sent as a Bearer token
//       timeout_ms: 2000
//       fail: closed                      # closed: 503 when it cannot answer; open: let the request through
//       action: block                     # block | redact (use its sanitized prompt) | log
//       messages: last_user
//       output: true                      # JSON answers go through /analyze/output before they are sent
//
// Streams: the answer is analysed when it ends and a failed verdict is logged; the bytes have been sent by then,
// so the built-in output guards are what stops a stream.

import { answerTextOfBody, createSlot, definePlugin, lastUserText, requestText, SluiceError, type MessageSelection, type Plugin, type RequestContext, type ResponseBody, type SseEvent } from '../../core/plugin/api.ts';
import { blockedRequest, paramOf, replaceText } from './input-guard.ts';
import { choiceText, deltasOf, noticeReply, type Choice } from './output-guard.ts';
import { LlmGuardApiClient, LlmGuardApiError, type LlmGuardVerdict } from './llm-guard-api.ts';
import { recordVerdict } from './verdicts.ts';

export interface LlmGuardApiPluginOptions {
  url: string;
  token?: string;
  timeout_ms?: number;
  fail?: 'open' | 'closed';
  action?: 'block' | 'redact' | 'log';
  messages?: MessageSelection;
  input?: boolean;
  output?: boolean;
  on_block?: 'notice' | 'error';
  suppress_input?: string[];
  suppress_output?: string[];
}

const NAME = 'llm_guard_api';
/** A stream's text kept for the analysis at its end. */
const STREAM_TEXT_LIMIT = 64 * 1024;

/** The LLM Guard scanners that failed, strongest first: what the error and the header name. */
function failedScanners(verdict: LlmGuardVerdict): string {
  const names = Object.entries(verdict.scores)
    .filter(([, score]) => score > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name]) => name);
  return names.length === 0 ? NAME : `${NAME}:${names.join('+')}`;
}

/** 0..1 for the access log. LLM Guard's risk scores run from -1 (clearly fine) to 1; a failed verdict with no positive score counts as 1. */
function topScore(verdict: LlmGuardVerdict): number {
  let top = 0;
  for (const score of Object.values(verdict.scores)) if (score > top) top = score;
  return verdict.isValid ? Math.min(top, 1) : top > 0 ? Math.min(top, 1) : 1;
}

export default definePlugin<LlmGuardApiPluginOptions>({
  id: 'guard.llm_guard_api',
  description: 'Requests and answers checked by a remote LLM Guard API server (/analyze/prompt, /analyze/output).',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string', pattern: '^https?://' },
      token: { type: 'string' },
      timeout_ms: { type: 'integer', minimum: 1 },
      fail: { enum: ['open', 'closed'] },
      action: { enum: ['block', 'redact', 'log'] },
      messages: { enum: ['last_user', 'user', 'all'] },
      input: { type: 'boolean' },
      output: { type: 'boolean' },
      on_block: { enum: ['notice', 'error'] },
      suppress_input: { type: 'array', items: { type: 'string' } },
      suppress_output: { type: 'array', items: { type: 'string' } },
    },
  },
  create(options, deps): Plugin {
    const client = new LlmGuardApiClient({ url: options.url, token: options.token ?? null, timeoutMs: options.timeout_ms ?? 2000 });
    const failOpen = options.fail === 'open';
    const action = options.action ?? 'block';
    const selection = options.messages ?? 'last_user';
    const suppressIn = options.suppress_input ?? [];
    const suppressOut = options.suppress_output ?? [];
    const streamText = createSlot<{ text: string }>('guard.llm_guard_api.stream');
    let lastWarning = 0;

    /** Fail open: log (at most every 10 s) and go on. Fail closed: 503 in the caller's language. */
    const unavailable = (ctx: RequestContext, error: unknown): void => {
      const kind = error instanceof LlmGuardApiError ? error.kind : 'error';
      ctx.logFields['guard_error'] = `${NAME}: ${kind}`;
      if (!failOpen) {
        throw new SluiceError('SLUICE_GUARD_UNAVAILABLE', `The content check (${NAME}) is unavailable: ${kind}.`, { details: { scanner: NAME }, cause: error });
      }
      const now = Date.now();
      if (now - lastWarning > 10_000) {
        lastWarning = now;
        deps.logger.warn(`${NAME} unreachable; requests pass unchecked (fail: open)`, { error: (error as Error).message });
      }
    };

    const plugin: Plugin = {
      close: () => client.close(),
    };

    if (options.input !== false) {
      plugin.guardRequest = async (ctx) => {
        const parts = requestText(ctx.body, selection);
        if (parts.length === 0) return;
        let verdicts: LlmGuardVerdict[];
        try {
          verdicts = await Promise.all(parts.map((part) => client.analyzePrompt(part.text, ctx.signal, suppressIn)));
        } catch (error) {
          return unavailable(ctx, error);
        }
        const failed = verdicts.findIndex((v) => !v.isValid);
        const score = Math.max(...verdicts.map(topScore));
        recordVerdict(ctx, { scanner: NAME, direction: 'input', score, flagged: failed >= 0, action });
        if (failed < 0 || action === 'log') return;
        if (action === 'redact') {
          const copy = structuredClone(ctx.body) as Record<string, unknown>;
          verdicts.forEach((v, k) => {
            if (v.sanitized !== parts[k]!.text) replaceText(copy, parts[k]!, v.sanitized);
          });
          ctx.setBody(copy);
          return;
        }
        throw blockedRequest(failedScanners(verdicts[failed]!), paramOf(parts[failed]!));
      };
    }

    if (options.output !== false) {
      plugin.onResponseBody = async (ctx: RequestContext, body: ResponseBody) => {
        if (ctx.endpoint !== 'chat' && ctx.endpoint !== 'completions') return;
        // Ollama's, Anthropic's and the Responses API carry one answer: judged as a one-choice list.
        const choices: unknown =
          ctx.api === 'openai' ? (body.json as { choices?: unknown } | undefined)?.choices : [{ message: { content: answerTextOfBody(ctx, body.json) } }];
        if (!Array.isArray(choices)) return;
        const prompt = lastUserText(ctx.body);
        let verdicts: (LlmGuardVerdict | null)[];
        try {
          verdicts = await Promise.all(
            choices.map((choice: Choice) => {
              const text = choiceText(choice);
              return text === null || text === '' ? null : client.analyzeOutput(prompt, text, ctx.signal, suppressOut);
            }),
          );
        } catch (error) {
          return unavailable(ctx, error);
        }
        const blocked = verdicts.flatMap((v, k) => (v !== null && !v.isValid ? [k] : []));
        const score = Math.max(0, ...verdicts.map((v) => (v === null ? 0 : topScore(v))));
        recordVerdict(ctx, { scanner: NAME, direction: 'output', score, flagged: blocked.length > 0, action: action === 'redact' ? 'block' : action });
        if (blocked.length === 0 || action === 'log') return;
        const scanner = failedScanners(verdicts[blocked[0]!]!);
        const english = `The response was stopped by the content policy (scanner: ${scanner}).`;
        // The other APIs get their own error shape rather than a notice written into their answer (see output-guard.ts).
        if (options.on_block === 'error' || ctx.api !== 'openai') throw new SluiceError('SLUICE_OUTPUT_BLOCKED', english, { details: { scanner } });
        return noticeReply(body, blocked, deps.localize(ctx, 'SLUICE_OUTPUT_BLOCKED', { scanner }, english));
      };
      plugin.onResponseEvent = (ctx: RequestContext, event: SseEvent) => {
        let kept = ctx.get(streamText);
        if (kept === undefined) ctx.set(streamText, (kept = { text: '' }));
        for (const delta of deltasOf(ctx, event)) {
          if (delta.choice === 0 && kept.text.length < STREAM_TEXT_LIMIT) kept.text += delta.text;
        }
        if (!event.done || kept.text === '') return;
        client.analyzeOutput(lastUserText(ctx.body), kept.text, undefined, suppressOut).then(
          (verdict) => {
            if (!verdict.isValid) deps.logger.warn(`${NAME}: a streamed answer failed the output check after it was sent`, { request: ctx.id, scanners: failedScanners(verdict) });
          },
          (error: unknown) => deps.logger.warn(`${NAME}: could not check a streamed answer`, { request: ctx.id, error: (error as Error).message }),
        );
      };
    }
    return plugin;
  },
});
