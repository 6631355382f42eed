// What a plugin sees of a streamed response: one server-sent event, and the value that ends a stream.

import type { SluiceError } from '../errors.ts';
import type { RequestContext } from './context.ts';

/** Returned from `onResponseEvent` to end a stream: see `endStream`. */
export interface StreamStop {
  readonly kind: 'stop';
  /** The `data:` payload of one final event written before `data: [DONE]` (an object, serialized once). */
  readonly finalEvent: Readonly<Record<string, unknown>> | null;
  /** Why the stream was ended; passed to `onError`. */
  readonly error: SluiceError;
  /**
   * Text the client is shown instead of the rest of the answer. In OpenAI's API `finalEvent` carries it; the
   * other APIs (Ollama's, Anthropic's Messages, Responses) get a final event in their own shape built around it.
   */
  readonly notice: string | null;
}

/**
 * Ends a stream from `onResponseEvent`: bytes before the current event have reached the client unchanged; the
 * current event and everything after it are not forwarded. The core writes `finalEvent` (if any), then
 * `data: [DONE]`, ends the response and aborts the upstream request.
 */
export function endStream(error: SluiceError, finalEvent: Readonly<Record<string, unknown>> | null = null, notice: string | null = null): StreamStop {
  return { kind: 'stop', finalEvent, error, notice };
}

const NOT_PARSED = Symbol('not parsed');

/**
 * One event of a streamed answer, as the upstream sent it: a server-sent event, or (Ollama's API) one NDJSON line,
 * whose `data` is the line itself.
 */
export class SseEvent {
  /** The event's exact bytes, including the blank line (or the newline) that ends it. */
  readonly raw: Buffer;
  /** 0-based position of this event in the stream. */
  readonly index: number;
  /** True for one line of an NDJSON stream. */
  readonly ndjson: boolean;
  #data: string | null = null;
  #name: string | null = null;
  #json: unknown = NOT_PARSED;

  constructor(raw: Buffer, index: number, ndjson = false) {
    this.raw = raw;
    this.index = index;
    this.ndjson = ndjson;
  }

  /** The `data:` lines joined with `\n` (SSE rules: one optional space after the colon is dropped). */
  get data(): string {
    if (this.#data === null) this.#parseFields();
    return this.#data as string;
  }

  /** The `event:` field, or null. */
  get event(): string | null {
    if (this.#data === null) this.#parseFields();
    return this.#name;
  }

  /** True for OpenAI's `data: [DONE]` terminator. */
  get done(): boolean {
    return !this.ndjson && this.data === '[DONE]';
  }

  /** `data` parsed as JSON once, shared by all plugins; `undefined` when it is not JSON. Do not mutate. */
  get json(): unknown {
    if (this.#json === NOT_PARSED) {
      try {
        this.#json = JSON.parse(this.data);
      } catch {
        this.#json = undefined;
      }
    }
    return this.#json;
  }

  #parseFields(): void {
    if (this.ndjson) {
      this.#data = this.raw.toString('utf8').trimEnd();
      return;
    }
    const lines = this.raw.toString('utf8').split(/\r\n|\r|\n/);
    const data: string[] = [];
    for (const line of lines) {
      if (line === '' || line.charCodeAt(0) === 58 /* ':' comment */) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') this.#name = value;
    }
    this.#data = data.join('\n');
  }
}

/** An `onResponseEvent` hook with its plugin bound, as the stream tap calls it. */
export type EventHook = (ctx: RequestContext, event: SseEvent) => void | StreamStop;
