// A scanner on the answer. A JSON answer is scanned whole before it is sent: blocked, it becomes an error or a
// notice with finish_reason "content_filter". A stream is scanned event by event before each is forwarded: the
// newest text plus the end of what came before, so a match split across chunks is still seen. On a block the
// stream ends with one event carrying the localized notice and finish_reason "content_filter", then [DONE]; the
// core aborts the upstream. Bytes already forwarded are untouched, and nothing after the cut is sent.

import { answerText, answerTextOfBody, createSlot, endStream, respond, SluiceError, type HookResult, type LocalizedMessage, type PluginLocalize, type Reply, type RequestContext, type ResponseBody, type SseEvent, type StreamStop } from '../../core/plugin/api.ts';
import type { GuardAction, ScannerSpec } from './specs.ts';
import type { Scanner } from './types.ts';
import { recordVerdict } from './verdicts.ts';

export interface OutputGuardSettings {
  readonly spec: ScannerSpec;
  readonly scanner: Scanner;
  readonly action: Exclude<GuardAction, 'redact'>;
  /** A blocked JSON answer: replaced by a notice (200, finish_reason content_filter) or an error (400). */
  readonly onBlock: 'notice' | 'error';
  readonly localize: PluginLocalize;
}

/**
 * How much of the text before the newest chunk is scanned again with it: the longest match seen across chunks. One
 * value for every guard, so their windows are the same string and the text is normalised once per chunk for all.
 */
export const STREAM_OVERLAP = 256;
/** `prefix` scanners (no_refusal) read this much of the answer's start, and nothing after. */
export const STREAM_PREFIX = 600;
/**
 * A `prefix` scanner does not judge an opening shorter than this while the stream goes on: "No" may be a whole
 * refusal or the start of "No, it is not…". An OpenAI stream that ends this short is judged at its `[DONE]`; the
 * other APIs' streams carry no such end marker, so their answers this short are not judged.
 */
export const STREAM_PREFIX_MIN = 24;

/** The English notice; the localized one comes from the catalogue (SLUICE_OUTPUT_BLOCKED). */
function noticeFor(ctx: RequestContext, settings: OutputGuardSettings): LocalizedMessage {
  const scanner = settings.spec.name;
  return settings.localize(ctx, 'SLUICE_OUTPUT_BLOCKED', { scanner }, `The response was stopped by the content policy (scanner: ${scanner}).`);
}

function blockedAnswer(scanner: string): SluiceError {
  return new SluiceError('SLUICE_OUTPUT_BLOCKED', `The response was stopped by the content policy (scanner: ${scanner}).`, { details: { scanner } });
}

// ------------------------------------------------------------------------------------------------- JSON answers

export interface Choice {
  index?: unknown;
  message?: { content?: unknown };
  text?: unknown;
  finish_reason?: unknown;
}

/** The text of a choice: chat `message.content`, or completions' `text`. */
export function choiceText(choice: Choice): string | null {
  const content = choice.message?.content;
  if (typeof content === 'string') return content;
  return typeof choice.text === 'string' ? choice.text : null;
}

export function guardBody(ctx: RequestContext, body: ResponseBody, settings: OutputGuardSettings): HookResult {
  // Only chat and completion answers carry text to judge; parsing megabytes of vectors or images would be the whole cost.
  if (ctx.endpoint !== 'chat' && ctx.endpoint !== 'completions') return;
  if (ctx.api !== 'openai') return guardOtherApiBody(ctx, body, settings);
  const choices = (body.json as { choices?: unknown } | undefined)?.choices;
  if (!Array.isArray(choices)) return;
  let score = 0;
  const blocked: number[] = [];
  choices.forEach((choice: Choice, k) => {
    const text = choiceText(choice);
    if (text === null || text === '') return;
    const result = settings.scanner.scan(text);
    if (result.score > score) score = result.score;
    if (result.flagged) blocked.push(k);
  });
  const flagged = blocked.length > 0;
  recordVerdict(ctx, { scanner: settings.spec.name, direction: 'output', score, flagged, action: settings.action });
  if (!flagged || settings.action === 'log') return;
  if (settings.onBlock === 'error') throw blockedAnswer(settings.spec.name);
  return noticeReply(body, blocked, noticeFor(ctx, settings));
}

/**
 * An answer in Ollama's, Anthropic's or the Responses API: one text to judge. A blocked one becomes the API's own
 * content_filter error, whatever `on_block` says: a notice written into three more answer shapes would be three
 * more ways to get an answer subtly wrong.
 */
function guardOtherApiBody(ctx: RequestContext, body: ResponseBody, settings: OutputGuardSettings): HookResult {
  const text = answerTextOfBody(ctx, body.json);
  if (text === '') return;
  const result = settings.scanner.scan(text);
  recordVerdict(ctx, { scanner: settings.spec.name, direction: 'output', score: result.score, flagged: result.flagged, action: settings.action });
  if (result.flagged && settings.action !== 'log') throw blockedAnswer(settings.spec.name);
}

/** The answer with each blocked choice's text replaced by the notice and `finish_reason: "content_filter"`. */
export function noticeReply(body: ResponseBody, blocked: readonly number[], notice: LocalizedMessage): Reply {
  const replaced = structuredClone(body.json) as { choices: Choice[] };
  for (const k of blocked) {
    const choice = replaced.choices[k]!;
    if (choice.message !== undefined && typeof choice.message === 'object') choice.message.content = notice.message;
    else choice.text = notice.message;
    choice.finish_reason = 'content_filter';
  }
  return respond(200, replaced, { 'content-language': notice.lang });
}

// ------------------------------------------------------------------------------------------------------ streams

export interface Delta {
  readonly choice: number;
  readonly text: string;
}

/** The newest event's text, read once per event for every output guard of the request. */
interface StreamText {
  event: SseEvent | null;
  deltas: readonly Delta[];
  /** From the first chunk: what the final event repeats so clients see one coherent stream. */
  id: unknown;
  created: unknown;
  model: unknown;
  object: unknown;
}

const STREAM_TEXT = createSlot<StreamText>('guard.stream_text');
const NO_DELTAS: readonly Delta[] = [];

/** The text each choice gained in this event; read once per event and shared by every guard of the request. */
export function deltasOf(ctx: RequestContext, event: SseEvent): readonly Delta[] {
  let shared = ctx.get(STREAM_TEXT);
  if (shared === undefined) {
    shared = { event: null, deltas: NO_DELTAS, id: undefined, created: undefined, model: undefined, object: undefined };
    ctx.set(STREAM_TEXT, shared);
  }
  if (shared.event === event) return shared.deltas;
  shared.event = event;
  shared.deltas = NO_DELTAS;
  if (event.done) return NO_DELTAS;
  if (ctx.api !== 'openai') {
    // One answer per request in the other APIs: its text, as the API carries it.
    const text = answerText(ctx, event);
    if (text !== '') shared.deltas = [{ choice: 0, text }];
    return shared.deltas;
  }
  const json = event.json as { id?: unknown; created?: unknown; model?: unknown; object?: unknown; choices?: unknown } | undefined;
  if (json === undefined || json === null || !Array.isArray(json.choices)) return NO_DELTAS;
  if (shared.id === undefined) {
    shared.id = json.id;
    shared.created = json.created;
    shared.model = json.model;
    shared.object = json.object;
  }
  const out: Delta[] = [];
  for (const c of json.choices as { index?: unknown; delta?: { content?: unknown }; text?: unknown }[]) {
    const text = typeof c.delta?.content === 'string' ? c.delta.content : typeof c.text === 'string' ? c.text : '';
    if (text !== '') out.push({ choice: typeof c.index === 'number' ? c.index : 0, text });
  }
  shared.deltas = out;
  return out;
}

/** One guard's view of one stream: per choice, the text kept for the next scan. */
interface GuardStream {
  readonly kept: string[];
  readonly seen: number[];
  score: number;
  fired: boolean;
}

export class StreamGuard {
  readonly #settings: OutputGuardSettings;
  readonly #slot = createSlot<GuardStream>('guard.stream');

  constructor(settings: OutputGuardSettings) {
    this.#settings = settings;
  }

  onEvent(ctx: RequestContext, event: SseEvent): void | StreamStop {
    const deltas = deltasOf(ctx, event);
    if (deltas.length === 0) {
      if (!event.done) return;
      const stop = this.#judgeShort(ctx);
      if (stop === undefined) this.#finish(ctx);
      return stop;
    }
    let state = ctx.get(this.#slot);
    if (state === undefined) ctx.set(this.#slot, (state = { kept: [], seen: [], score: 0, fired: false }));
    // After a `log` verdict, the scanner has said what it had to say about this answer.
    if (state.fired) return;
    const { spec, scanner } = this.#settings;
    for (const { choice, text } of deltas) {
      const seen = state.seen[choice] ?? 0;
      const before = state.kept[choice] ?? '';
      let window: string;
      if (spec.stream === 'prefix') {
        if (seen >= STREAM_PREFIX) continue;
        window = before + text;
        state.kept[choice] = window;
        if (window.length < STREAM_PREFIX_MIN) {
          state.seen[choice] = seen + text.length;
          continue;
        }
      } else {
        window = before + text;
        state.kept[choice] = window.length > STREAM_OVERLAP ? window.slice(window.length - STREAM_OVERLAP) : window;
      }
      state.seen[choice] = seen + text.length;
      const result = scanner.scan(window);
      if (result.score > state.score) state.score = result.score;
      if (!result.flagged) continue;
      state.fired = true;
      recordVerdict(ctx, { scanner: spec.name, direction: 'output', score: result.score, flagged: true, action: this.#settings.action });
      if (this.#settings.action === 'log') return;
      if (ctx.api !== 'openai') return endStream(blockedAnswer(spec.name), null, noticeFor(ctx, this.#settings).message);
      return endStream(blockedAnswer(spec.name), this.#finalEvent(ctx, choice));
    }
  }

  /** At the end of the stream, the openings a `prefix` scanner left unjudged because they were short. */
  #judgeShort(ctx: RequestContext): StreamStop | undefined {
    const state = ctx.get(this.#slot);
    if (state === undefined || state.fired || this.#settings.spec.stream !== 'prefix') return undefined;
    for (let choice = 0; choice < state.kept.length; choice++) {
      const window = state.kept[choice];
      if (window === undefined || window.length >= STREAM_PREFIX_MIN) continue;
      const result = this.#settings.scanner.scan(window);
      if (result.score > state.score) state.score = result.score;
      if (!result.flagged) continue;
      state.fired = true;
      recordVerdict(ctx, { scanner: this.#settings.spec.name, direction: 'output', score: result.score, flagged: true, action: this.#settings.action });
      if (this.#settings.action === 'log') return undefined;
      return endStream(blockedAnswer(this.#settings.spec.name), this.#finalEvent(ctx, choice));
    }
    return undefined;
  }

  /** The stream ended without a block: its score still goes to the access log. */
  #finish(ctx: RequestContext): void {
    const state = ctx.get(this.#slot);
    if (state !== undefined && !state.fired) {
      recordVerdict(ctx, { scanner: this.#settings.spec.name, direction: 'output', score: state.score, flagged: false, action: this.#settings.action });
    }
  }

  #finalEvent(ctx: RequestContext, choice: number): Record<string, unknown> {
    const shared = ctx.get(STREAM_TEXT)!;
    const notice = noticeFor(ctx, this.#settings).message;
    const chat = ctx.endpoint === 'chat';
    return {
      ...(shared.id === undefined ? {} : { id: shared.id }),
      object: typeof shared.object === 'string' ? shared.object : chat ? 'chat.completion.chunk' : 'text_completion',
      ...(shared.created === undefined ? {} : { created: shared.created }),
      ...(shared.model === undefined ? {} : { model: shared.model }),
      choices: [chat ? { index: choice, delta: { content: notice }, finish_reason: 'content_filter' } : { index: choice, text: notice, finish_reason: 'content_filter' }],
    };
  }
}
