// The per-request context: one object, created when a proxied request arrives, handed to every phase.
//
// Every field is declared and initialised in the constructor so all contexts share one shape.

import type { IncomingHttpHeaders } from 'node:http';
import type { Deployment, Endpoint, ModelGroup } from '../config/models.ts';
import type { SluiceError } from '../errors.ts';

/** A typed key for a plugin's private per-request state. Create one per plugin module, at load. */
export interface Slot<T> {
  readonly name: string;
  /** Never read; carries the value type. */
  readonly _type?: T;
}

export function createSlot<T>(name: string): Slot<T> {
  return { name };
}

/** Token counts, filled by whoever can see them (a stream tap, a JSON body reader). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** A key's budget in USD; null where unset. `duration` is LiteLLM's (`30s`, `1h`, `30d`, `1mo`): null never resets. */
export interface KeyBudget {
  readonly max: number | null;
  readonly soft: number | null;
  readonly duration: string | null;
}

/** Who the caller is, set by an `authenticate` plugin. */
export interface AuthInfo {
  /** An alias or hash, never the key itself. */
  readonly keyId: string;
  /** Model groups the caller may use; null = all. */
  readonly models: ReadonlySet<string> | null;
  /** The key's own limits, enforced by the `limit.key` plugin; null where unset. */
  readonly limits: { readonly rpm: number | null; readonly tpm: number | null; readonly maxParallelRequests: number | null };
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The key's spend budget (LiteLLM's `max_budget`, `soft_budget`, `budget_duration`), enforced by `spend`. */
  readonly budget?: KeyBudget;
  /** The master key: sees operator details (backend addresses and errors in /health). */
  readonly admin?: boolean;
}

/**
 * The API a client called: OpenAI's (chat, completions, embeddings and the rest), Ollama's native `/api/*`,
 * Anthropic's Messages or OpenAI's Responses. Bodies, streams and errors are in that API's shape.
 */
export type ClientApi = 'openai' | 'ollama' | 'anthropic' | 'responses';

/** What a request is for: a proxied endpoint, or `info` for the gateway's own GET routes (models, health). */
export type RouteKind = Endpoint | 'info';

/** How the request ended, set by the core before `log`. */
export type Outcome = 'pending' | 'ok' | 'replied' | 'error' | 'aborted';

export class RequestContext {
  /** Request id: the client's `x-request-id`, else generated. Echoed as `x-request-id`. */
  readonly id: string;
  readonly method: string;
  /** URL path without the query string. */
  readonly path: string;
  /** The query string without its `?` (empty when none). */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly clientAddress: string;
  readonly endpoint: RouteKind;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;

  /** The parsed JSON request body. To change what is sent upstream, call `setBody` (up to `upstreamRequest`). */
  body: Record<string, unknown>;
  /** Set by `setBody`: the body is serialized again instead of forwarding the client's bytes. */
  bodyChanged = false;
  /** The body bytes as received. */
  readonly rawBody: Buffer;
  /** The model group the client asked for (`body.model`). */
  readonly model: string;
  /** The answer streams: `body.stream === true` (Ollama's API streams unless `stream` is false). */
  readonly stream: boolean;
  /** The API the client called; errors and streams are in its shape. */
  readonly api: ClientApi;

  group: ModelGroup | null = null;
  deployment: Deployment | null = null;
  auth: AuthInfo | null = null;
  usage: Usage | null = null;
  /** Extra headers for the upstream request (plugins add; `authorization` is set from the deployment's key). */
  readonly upstreamHeaders: Record<string, string> = {};
  /** Extra headers for the client response. */
  readonly responseHeaders: Record<string, string> = {};
  /** Extra fields for the access log, added by plugins (the guards put their scores here). Never secrets. */
  readonly logFields: Record<string, unknown> = {};
  /** Upstream status once headers arrived. */
  upstreamStatus = 0;
  /** `performance.now()` when the first response byte was written to the client. */
  firstByteAt = 0;
  /** `performance.now()` when the request ended. */
  endedAt = 0;
  outcome: Outcome = 'pending';
  error: SluiceError | null = null;
  /** Status sent to the client. */
  status = 0;
  /**
   * Attempts that failed and were tried again (on another deployment, or after a backoff), over every group the
   * request went through. `x-litellm-attempted-retries` counts only the last group's.
   */
  retries = 0;
  /** Fallback groups that took the request over (each one entered with a deployment picked). */
  fallbacks = 0;

  #slots: Map<Slot<unknown>, unknown> | null = null;
  #abort: AbortController | null = null;

  constructor(
    id: string,
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    clientAddress: string,
    endpoint: RouteKind,
    startedAt: number,
    body: Record<string, unknown>,
    rawBody: Buffer,
    query = '',
    api: ClientApi = 'openai',
    stream: boolean = body['stream'] === true,
  ) {
    this.api = api;
    this.id = id;
    this.method = method;
    this.path = path;
    this.query = query;
    this.headers = headers;
    this.clientAddress = clientAddress;
    this.endpoint = endpoint;
    this.startedAt = startedAt;
    this.body = body;
    this.rawBody = rawBody;
    this.model = typeof body['model'] === 'string' ? body['model'] : '';
    this.stream = stream;
  }

  /** Replaces (or, passing `ctx.body` after editing it, confirms changes to) the body sent upstream. */
  setBody(body: Record<string, unknown>): void {
    this.body = body;
    this.bodyChanged = true;
  }

  get<T>(slot: Slot<T>): T | undefined {
    return this.#slots?.get(slot) as T | undefined;
  }

  set<T>(slot: Slot<T>, value: T): void {
    (this.#slots ??= new Map()).set(slot, value);
  }

  /** Aborted when the client disconnects or the request ends; created on first use. */
  get signal(): AbortSignal {
    return (this.#abort ??= new AbortController()).signal;
  }

  /** Called by the core when the request is over. */
  settle(outcome: Outcome, now: number): void {
    this.outcome = outcome;
    this.endedAt = now;
    if (this.#abort !== null && !this.#abort.signal.aborted) this.#abort.abort();
  }
}
