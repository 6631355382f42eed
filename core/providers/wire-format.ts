// The provider seam: what the engine needs to know of one wire family (OpenAI's, and later Ollama's NDJSON and
// Anthropic's Messages). A new family is one file implementing this, listed in providers/index.ts; the stream
// tap splits its streams by `streamFraming`.

import type { Deployment, Endpoint } from '../config/models.ts';
import type { ErrorClass } from '../config/router-settings.ts';
import type { SluiceError } from '../errors.ts';
import type { ClientApi, RequestContext, Usage } from '../plugin/context.ts';
import type { SseEvent, StreamStop } from '../plugin/stream-event.ts';

/** Reads a JSON body's usage as the body streams past, without holding the body. */
export interface BodyUsageReader {
  push(chunk: Buffer): void;
  /** The usage of the body seen, or null when it has none. */
  read(): Usage | null;
}

/** Where a stream stands, from the events forwarded so far (see WireFormat.streamState). */
export interface StreamState {
  observe(event: SseEvent): void;
}

export interface WireFormat {
  /** The client API this is (`ctx.api` of its requests). */
  readonly id: ClientApi;
  /** The POST routes its clients call, by path, and which endpoint each is. */
  readonly routes: ReadonlyMap<string, Endpoint>;
  /** Throws a SluiceError (400, param named) for a body this API refuses; `model` is always required. */
  validate(endpoint: Endpoint, body: Readonly<Record<string, unknown>>): void;
  /** Whether the answer to `body` streams (each API has its own default). */
  isStream(endpoint: Endpoint, body: Readonly<Record<string, unknown>>): boolean;
  /** Whether `deployment` serves this API itself: the request then goes as it came, and the answer comes back as is. */
  servesNatively(deployment: Deployment): boolean;
  /**
   * The upstream path that serves an endpoint natively on a deployment whose API lives at `basePath`; `clientPath`
   * is the path the client called (Ollama's two embeddings routes share an endpoint).
   */
  upstreamPath(endpoint: Endpoint, basePath: string, clientPath: string): string;
  /** How the API reaches a deployment that does not serve it, by way of OpenAI's routes; null for OpenAI's own. */
  readonly bridge: ClientBridge | null;
  /** The body of an error the gateway answers with, in this API's shape, with `message` in the caller's language. */
  errorBody(error: SluiceError, message: string): unknown;
  /**
   * What a stream's closing events must know of the events before them (Responses' sequence numbers, Messages'
   * open block), fed each forwarded event by the stream tap; absent when the closing events stand alone.
   */
  streamState?(): StreamState;
  /** The bytes that end a started stream with an error (an error event, or an error line). */
  streamErrorTail(error: SluiceError, message: string, state: StreamState | null): string;
  /** The bytes that end a stream a plugin stopped (`endStream`): its final event, in this API's shape. */
  streamStopTail(stop: StreamStop, ctx: RequestContext, state: StreamState | null): string;
  /** The answer text one stream event adds (what output guards read). */
  eventText(event: SseEvent): string;
  /** The answer text of a whole JSON answer (its first choice, where there are several). */
  bodyText(json: unknown): string;
  /** How a streamed answer is cut into events: SSE (events end at a blank line) or NDJSON (one per line). */
  readonly streamFraming: 'sse' | 'ndjson';
  /** Bytes every stream event carrying usage contains: searched before any JSON is parsed. */
  readonly usageMark: Buffer;
  /** The usage in one stream event's parsed JSON, or null. */
  usageOfEvent(json: unknown): Usage | null;
  /** True for an event that carries only usage (the one the gateway asks for on its own account). */
  isUsageOnlyEvent(json: unknown): boolean;
  /** The usage of a whole parsed JSON answer, or null. */
  usageOfBody(json: unknown): Usage | null;
  /** A reader for the usage of a JSON answer that may be too large to hold. */
  bodyUsageReader(): BodyUsageReader;
  /** Classifies an upstream error status; `body` (when read) refines 400s. */
  classifyStatus(status: number, body: string | null): ErrorClass;
  /** True when an error body says the prompt did not fit the model's context window. */
  isContextWindowError(body: string): boolean;
  /** The prompt's estimated tokens, for decisions made before a backend has counted. */
  estimateRequestTokens(body: Readonly<Record<string, unknown>>): number;
}

/**
 * Turns one backend's answer into the client's wire format as it streams: used when a deployment speaks another
 * family than the client (an OpenAI client, an Anthropic backend). Called by the upstream handler in order.
 */
export interface ResponseTranslator {
  /** The status and headers to pass on; `deferred` holds them (and the body) until the answer is complete. */
  start(status: number, headers: Readonly<Record<string, string | string[] | undefined>>): { readonly deferred: boolean; readonly status: number; readonly headers: Record<string, string | string[] | undefined> };
  /** Bytes to pass on for a chunk of the backend's body (empty when none yet). */
  data(chunk: Buffer): Buffer;
  /** The rest at the end; for a deferred answer, its final status and headers too. */
  end(): { readonly status: number; readonly headers: Record<string, string | string[] | undefined>; readonly body: Buffer };
}

/** The request a foreign backend gets, built from the client's. */
export interface ForeignRequest {
  readonly path: string;
  readonly body: string;
  /** Header name/value pairs: credentials and protocol headers. */
  readonly headers: readonly string[];
}

/**
 * A backend that speaks another wire family than the client (an `anthropic/` deployment behind OpenAI's routes):
 * the request is rebuilt for it, and its answer translated back as it streams.
 */
export interface ForeignBackend {
  /** Throws a SluiceError (400) for an endpoint the backend has no equivalent of. */
  request(body: Readonly<Record<string, unknown>>, endpoint: Endpoint, model: string, basePath: string, apiKey: string | null): ForeignRequest;
  translator(requestedModel: string, body: Readonly<Record<string, unknown>>): ResponseTranslator;
}

/**
 * How a client API other than OpenAI's (Ollama's native API, Anthropic's Messages, OpenAI's Responses) reaches a
 * deployment that does not serve it natively: the request becomes an OpenAI request (chat, completions or
 * embeddings), and the OpenAI answer (JSON, SSE events or an OpenAI error body) is translated back as it streams.
 * OpenAI is the pivot: a bridge composes with a ForeignBackend (an Ollama client on an `anthropic/` deployment).
 */
export interface ClientBridge {
  /**
   * The OpenAI request for a client request on `endpoint` (the client API's own endpoint). The model is set later.
   * A streamed request asks for `stream_options.include_usage`, so the translated stream can report usage.
   * Throws a SluiceError (400, param named) for what has no OpenAI equivalent.
   */
  toOpenAI(body: Readonly<Record<string, unknown>>, endpoint: Endpoint): { readonly endpoint: Endpoint; readonly body: Record<string, unknown> };
  /** Translates the OpenAI answer into the client's API; `body` is the client's own request. */
  fromOpenAI(requestedModel: string, body: Readonly<Record<string, unknown>>, endpoint: Endpoint): ResponseTranslator;
}

/**
 * A BodyUsageReader for APIs whose JSON answers are small: the body is held up to `limit` bytes and parsed once
 * at the end; a larger one reports no usage rather than holding more.
 */
export class HeldBodyUsage implements BodyUsageReader {
  readonly #usageOfBody: (json: unknown) => Usage | null;
  readonly #limit: number;
  #chunks: Buffer[] | null = [];
  #size = 0;

  constructor(usageOfBody: (json: unknown) => Usage | null, limit = 1024 * 1024) {
    this.#usageOfBody = usageOfBody;
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    if (this.#chunks === null) return;
    this.#size += chunk.length;
    if (this.#size > this.#limit) this.#chunks = null;
    else this.#chunks.push(chunk);
  }

  read(): Usage | null {
    if (this.#chunks === null || this.#size === 0) return null;
    try {
      return this.#usageOfBody(JSON.parse(Buffer.concat(this.#chunks, this.#size).toString('utf8')));
    } catch {
      return null;
    }
  }
}
