// The retry loop: pick a deployment, send, and on a failure before the first byte retry elsewhere or fall back.
//
// One RetryLoop per proxied request. It owns the client's `close` listener, retries with backoff and fallbacks to
// other model groups; attempts (one upstream request each) report to it, passive health hears about failures.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Deployment, ModelGroup } from '../config/models.ts';
import { MAX_FALLBACKS, type ErrorClass, type RouterSettings } from '../config/router-settings.ts';
import { SluiceError, toSluiceError } from '../errors.ts';
import { writeError } from '../http/reply.ts';
import type { Chain } from '../plugin/chain.ts';
import type { RequestContext } from '../plugin/context.ts';
import { localizeFor, type ErrorLocalizer } from '../plugin/localize.ts';
import type { WireFormat } from '../providers/wire-format.ts';
import type { RouterState } from '../state/router-state.ts';
import { UpstreamAttempt, type AttemptFailure, type AttemptOwner } from './attempt.ts';
import { PassiveHealth } from './passive-health.ts';
import { TranslatingHandler } from './translating-handler.ts';
import type { Upstreams } from './pools.ts';
import { askForStreamUsage, buildUpstreamRequest, type UpstreamRequest } from './upstream-request.ts';

/** What every loop of one generation shares. */
export interface RunEnv {
  readonly chain: Chain;
  readonly state: RouterState;
  readonly settings: RouterSettings;
  readonly upstreams: Upstreams;
  /** The group serving a model name (aliases and wildcards included), for fallbacks. */
  readonly lookup: (model: string) => ModelGroup | undefined;
  readonly timeouts: { readonly upstreamFirstByte: number; readonly upstreamIdle: number; readonly upstreamTotal: number };
  readonly localizer: ErrorLocalizer;
  /** Loops sent upstream and not yet finished, across generations: what shutdown may cut. */
  readonly running: RunningLoops;
  /** Closes the books on the request (onResponseEnd / onError / onAbort, then log). */
  readonly finish: (ctx: RequestContext, outcome: 'ok' | 'error' | 'aborted', error: SluiceError | null) => void;
}

class ClientGone extends Error {
  constructor() {
    super('client disconnected');
    this.name = 'ClientGone';
  }
}

/**
 * The loops still running, as a list threaded through the loops themselves: adding and removing allocate nothing.
 * (A Set of per-request objects tripled the time spent in garbage collection under load.)
 */
export class RunningLoops {
  head: RetryLoop | null = null;

  add(loop: RetryLoop): void {
    loop.nextRunning = this.head;
    if (this.head !== null) this.head.previousRunning = loop;
    this.head = loop;
  }

  remove(loop: RetryLoop): void {
    const { previousRunning: previous, nextRunning: next } = loop;
    if (previous === null && this.head !== loop) return; // not in the list
    if (previous === null) this.head = next;
    else previous.nextRunning = next;
    if (next !== null) next.previousRunning = previous;
    loop.previousRunning = loop.nextRunning = null;
  }

  /** A snapshot, so the loops may remove themselves while it is walked. */
  list(): RetryLoop[] {
    const loops: RetryLoop[] = [];
    for (let loop = this.head; loop !== null; loop = loop.nextRunning) loops.push(loop);
    return loops;
  }
}

export class RetryLoop implements AttemptOwner {
  /** Links of `RunningLoops`. */
  previousRunning: RetryLoop | null = null;
  nextRunning: RetryLoop | null = null;
  readonly #chain: Chain;
  readonly #env: RunEnv;
  readonly #health: PassiveHealth;
  /** The wire family the client called: how its backends answer and fail. */
  readonly #wire: WireFormat;
  readonly #ctx: RequestContext;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  /** Deployments this request already tried in the current group. */
  readonly #tried = new Set<string>();
  #group: ModelGroup;
  #retries = 0;
  #fallbacks = 0;
  #current: UpstreamAttempt | null = null;
  #backoff: NodeJS.Timeout | null = null;
  /** The last upstream failure, quoted in a 503 when nothing is left to try. */
  #lastError: string | null = null;
  #done = false;
  /** The gateway asked for the stream's usage event on its own account (see askForStreamUsage). */
  #usageInjected = false;
  /** When the first attempt was sent; the time before it is the gateway's own overhead. */
  #firstDispatchAt = 0;
  readonly #onClientClose = (): void => {
    if (this.#done || this.#res.writableFinished) return;
    this.#done = true;
    // Stops the backend's work now (a GPU stops generating), then closes the books on this request.
    if (this.#backoff !== null) clearTimeout(this.#backoff);
    const current = this.#current;
    if (current !== null) {
      current.abort(new ClientGone());
      this.#release(current);
    }
    this.#finish('aborted', null);
  };

  constructor(env: RunEnv, ctx: RequestContext, req: IncomingMessage, res: ServerResponse, group: ModelGroup, wire: WireFormat) {
    this.#wire = wire;
    this.#chain = env.chain;
    this.#env = env;
    this.#health = new PassiveHealth(env.state, env.settings);
    this.#ctx = ctx;
    this.#req = req;
    this.#res = res;
    this.#group = group;
  }

  /**
   * The route phase: applies a context-window fallback if the prompt cannot fit, then picks the first deployment
   * (sets `ctx.deployment`); when the group has none available (all cooling down), its fallbacks serve. Throws
   * (or rejects with) a 503 SluiceError saying why when none can take the request. Asynchronous only while a
   * fallback group goes through the admit phase.
   */
  prepare(): void | Promise<void> {
    const requested = this.#group;
    const moved = this.#fitsContext(requested) ? null : this.#fallBackTo('context_window');
    if (moved instanceof Promise) return moved.then((picked) => this.#prepareIn(requested, picked));
    return this.#prepareIn(requested, moved);
  }

  /** The first deployment: `picked` in a context-window fallback, else one of `requested`, else a fallback's. */
  #prepareIn(requested: ModelGroup, picked: Deployment | null): void | Promise<void> {
    if (picked === null) {
      // No fallback may take the long prompt: the requested group gets it, and its answer stands.
      if (this.#group !== requested) this.#switchGroup(requested);
      picked = this.#pick(false);
    }
    if (picked !== null) {
      this.#ctx.deployment = picked;
      return;
    }
    const refused = this.#noDeployment();
    const settle = (fallback: Deployment | null): void => {
      if (fallback === null) {
        if (this.#group !== requested) this.#switchGroup(requested);
        throw refused;
      }
      this.#ctx.deployment = fallback;
    };
    const fallback = this.#fallBackTo('general');
    return fallback instanceof Promise ? fallback.then(settle) : settle(fallback);
  }

  /** Sends the first attempt to `ctx.deployment`. */
  start(): void {
    this.#env.running.add(this);
    this.#res.on('close', this.#onClientClose);
    if (this.#res.destroyed) return this.#onClientClose();
    this.#firstDispatchAt = performance.now();
    this.#dispatch(this.#ctx.deployment!);
  }

  // AttemptOwner ------------------------------------------------------------------------------------------

  failed(attempt: UpstreamAttempt, failure: AttemptFailure): boolean | Promise<boolean> {
    if (failure.kind === 'transport') {
      const { error } = failure;
      const cls: ErrorClass = error.code === 'SLUICE_UPSTREAM_TIMEOUT' ? 'timeout' : 'connection';
      this.#health.recordFailure(attempt.deployment, cls, error.message, null);
      this.#lastError = error.message;
      return this.#retryOrFallBack(attempt, cls, null);
    }
    const text = failure.body === null ? null : failure.body.toString('utf8');
    const wire = this.#wire;
    const cls = wire.classifyStatus(failure.status, text);
    const retryAfterMs = parseRetryAfter(failure.headers['retry-after']);
    const message = `upstream answered ${failure.status}`;
    this.#health.recordFailure(attempt.deployment, cls, message, retryAfterMs);
    this.#lastError = `${message} (deployment ${attempt.deployment.id})`;
    const kind: ErrorClass | 'context_window' = cls === 'bad_request' && text !== null && wire.isContextWindowError(text) ? 'context_window' : cls;
    return this.#retryOrFallBack(attempt, kind, retryAfterMs);
  }

  clientHeaders(attempt: UpstreamAttempt): Record<string, string> {
    const now = performance.now();
    const headers: Record<string, string> = {
      'x-request-id': this.#ctx.id,
      'x-litellm-model-id': attempt.deployment.id,
      'x-litellm-model-api-base': attempt.deployment.apiBase,
      'x-litellm-model-group': attempt.deployment.group,
      'x-litellm-attempted-retries': String(this.#retries),
      'x-litellm-attempted-fallbacks': String(this.#fallbacks),
      'x-litellm-response-duration-ms': (now - this.#ctx.startedAt).toFixed(3),
      'x-litellm-overhead-duration-ms': (this.#firstDispatchAt - this.#ctx.startedAt + (now - (attempt.firstDataAt || now))).toFixed(3),
    };
    // Anthropic's SDKs read `request-id`; a native backend's own replaces it (upstream headers are set after these).
    if (this.#ctx.api === 'anthropic') headers['request-id'] = this.#ctx.id;
    return headers;
  }

  ended(attempt: UpstreamAttempt, outcome: 'ok' | 'error', error: SluiceError | null): void {
    this.#release(attempt);
    const now = performance.now();
    const id = attempt.deployment.id;
    if (outcome === 'ok') {
      const latency = this.#ctx.stream && attempt.firstDataAt > 0 ? attempt.firstDataAt - attempt.dispatchedAt : now - attempt.dispatchedAt;
      this.#env.state.observeLatency(id, latency);
      const tokens = this.#ctx.usage?.totalTokens ?? 0;
      if (tokens > 0) this.#env.state.addUsage(id, 0, tokens, Date.now());
    } else if (error !== null && attempt.committed && error.code.startsWith('SLUICE_UPSTREAM_')) {
      // Cut mid-response: too late to retry, but it still counts against the deployment.
      this.#health.recordFailure(attempt.deployment, error.code === 'SLUICE_UPSTREAM_TIMEOUT' ? 'timeout' : 'connection', error.message, null);
    }
    if (this.#done) return;
    this.#done = true;
    this.#res.off('close', this.#onClientClose);
    this.#finish(outcome, error);
  }

  // The loop ----------------------------------------------------------------------------------------------

  /** True (or a promise of it) when this run takes over from `attempt`: a retry, a fallback, or the request ended. */
  #retryOrFallBack(attempt: UpstreamAttempt, kind: ErrorClass | 'context_window', retryAfterMs: number | null): boolean | Promise<boolean> {
    if (this.#done) return false;
    const retriesAllowed = kind === 'context_window' ? 0 : this.#env.settings.retries[kind];
    if (this.#retries < retriesAllowed) {
      const untried = this.#pick(true);
      if (untried !== null) {
        this.#retries++;
        this.#ctx.retries++;
        this.#replace(attempt, untried);
        return true;
      }
      // Nobody else is free: wait, then try whatever is available again (possibly the same deployment).
      const delay = backoffMs(this.#retries + 1, this.#env.settings.retryAfterMs, retryAfterMs);
      if (delay <= this.#env.settings.maxBackoffMs && this.#available() > 0) {
        this.#retries++;
        this.#ctx.retries++;
        this.#release(attempt);
        this.#current = null;
        this.#backoff = setTimeout(() => {
          this.#backoff = null;
          if (this.#done) return;
          try {
            const again = this.#pick(false) ?? this.#fallBackFor(kind);
            if (!(again instanceof Promise)) return again === null ? this.#giveUp() : this.#dispatch(again);
            void again
              .then((picked) => {
                if (this.#done) return;
                if (picked === null) this.#giveUp();
                else this.#dispatch(picked);
              })
              .catch((error: unknown) => this.#giveUp(toSluiceError(error)));
          } catch (error) {
            // A throw in a timer would take the process down: this request ends with the error instead.
            this.#giveUp(toSluiceError(error));
          }
        }, delay);
        return true;
      }
    }
    const next = this.#fallBackFor(kind);
    if (next === null) return false;
    if (!(next instanceof Promise)) {
      this.#replace(attempt, next);
      return true;
    }
    return next.then((picked) => {
      if (this.#done) return true;
      if (picked === null) return false;
      this.#replace(attempt, picked);
      return true;
    });
  }

  /** The fallbacks for this kind of failure (none for the client's own mistakes). */
  #fallBackFor(kind: ErrorClass | 'context_window'): Deployment | null | Promise<Deployment | null> {
    if (kind === 'bad_request' || kind === 'auth') return null;
    return this.#fallBackTo(kind === 'content_policy' ? 'content_policy' : kind === 'context_window' ? 'context_window' : 'general');
  }

  /**
   * Switches to the next fallback group of the list that may serve the request (the chain's checks, as for a
   * direct request) and has a deployment available; returns its first pick, or null when none is left.
   * Asynchronous only while the admit phase is.
   */
  #fallBackTo(list: 'general' | 'content_policy' | 'context_window'): Deployment | null | Promise<Deployment | null> {
    for (;;) {
      const group = this.#nextFallback(list);
      if (group === null) return null;
      if (this.#available(group) === 0) continue;
      const admitted = this.#chain.admitFallback(this.#ctx, group);
      if (admitted === true) {
        const picked = this.#enter(group);
        if (picked !== null) return picked;
      } else if (admitted !== false) {
        return admitted.then((ok) => {
          if (this.#done) return null;
          const picked = ok ? this.#enter(group) : null;
          return picked ?? this.#fallBackTo(list);
        });
      }
    }
  }

  #enter(group: ModelGroup): Deployment | null {
    this.#switchGroup(group);
    const picked = this.#pick(false);
    if (picked !== null) this.#ctx.fallbacks++;
    return picked;
  }

  #nextFallback(kind: 'general' | 'content_policy' | 'context_window'): ModelGroup | null {
    if (this.#fallbacks >= MAX_FALLBACKS) return null;
    const s = this.#env.settings;
    const map = kind === 'general' ? s.fallbacks : kind === 'content_policy' ? s.contentPolicyFallbacks : s.contextWindowFallbacks;
    const list = map.get(this.#ctx.model) ?? map.get('*');
    if (list === undefined) return null;
    // Fallbacks of the requested group, in order; one already used (or the group itself) is skipped.
    while (this.#fallbacks < list.length) {
      const group = this.#env.lookup(list[this.#fallbacks]!);
      this.#fallbacks++;
      if (group !== undefined && group !== this.#group && (kind !== 'context_window' || this.#fitsContext(group))) return group;
    }
    return null;
  }

  #switchGroup(group: ModelGroup): void {
    this.#group = group;
    this.#ctx.group = group;
    this.#tried.clear();
    this.#retries = 0;
  }

  #replace(attempt: UpstreamAttempt, next: Deployment): void {
    this.#release(attempt);
    this.#current = null;
    this.#dispatch(next);
  }

  /** Routing over the deployments that can take traffic now, in the best `order` tier. */
  #pick(untriedOnly: boolean): Deployment | null {
    const now = Date.now();
    const state = this.#env.state;
    let best = Infinity;
    let candidates: Deployment[] = [];
    for (const d of this.#group.deployments) {
      if (untriedOnly && this.#tried.has(d.id)) continue;
      if (state.unavailable(d.id, now) !== null) continue;
      if (d.maxParallelRequests !== null && state.inFlight(d.id) >= d.maxParallelRequests) continue;
      if (d.order < best) {
        best = d.order;
        candidates = [d];
      } else if (d.order === best) candidates.push(d);
    }
    if (candidates.length === 0) return null;
    return this.#chain.pickDeployment(this.#ctx, candidates);
  }

  #available(group: ModelGroup = this.#group): number {
    const now = Date.now();
    let n = 0;
    for (const d of group.deployments) if (this.#env.state.unavailable(d.id, now) === null) n++;
    return n;
  }

  #dispatch(deployment: Deployment): void {
    const ctx = this.#ctx;
    const env = this.#env;
    ctx.deployment = deployment;
    this.#tried.add(deployment.id);
    const t = env.timeouts;
    // LiteLLM's per-deployment timeouts: `timeout` bounds a whole call, `stream_timeout` a stream's first byte; the
    // router's (router_settings / litellm_settings) apply to deployments without their own.
    const totalMs = ctx.stream ? t.upstreamTotal : (deployment.timeoutMs ?? env.settings.timeoutMs ?? t.upstreamTotal);
    const firstByteMs = ctx.stream ? (deployment.streamTimeoutMs ?? env.settings.streamTimeoutMs ?? t.upstreamFirstByte) : t.upstreamFirstByte;
    if (!this.#usageInjected) this.#usageInjected = askForStreamUsage(ctx, this.#chain);
    let request: UpstreamRequest;
    try {
      request = buildUpstreamRequest(ctx, deployment, this.#req.rawHeaders, this.#chain, this.#wire, { firstByteMs, idleMs: t.upstreamIdle }, env.settings.dropParams);
    } catch (error) {
      // A request this deployment cannot take (a foreign backend without the endpoint) ends here, with its error.
      return this.#endWith(toSluiceError(error));
    }
    const settings = env.settings;
    const attempt = new UpstreamAttempt(this, {
      ctx,
      res: this.#res,
      deployment,
      wire: this.#wire,
      chain: this.#chain,
      localizer: env.localizer,
      firstByteMs,
      totalMs,
      // A 400 may be a content-policy refusal or a context-window overflow, each with its own fallbacks.
      readsBadRequestBody: settings.contentPolicyFallbacks.size > 0 || settings.contextWindowFallbacks.size > 0,
      usageInjected: this.#usageInjected,
    });
    this.#current = attempt;
    env.state.acquire(deployment.id);
    env.state.addUsage(deployment.id, 1, 0, Date.now());
    // A backend of another API answers through a translator; the attempt sees the client's API.
    const handler = request.translator === null ? attempt : new TranslatingHandler(attempt, request.translator);
    env.upstreams.for(deployment).dispatch(request.options, handler);
  }

  #release(attempt: UpstreamAttempt): void {
    if (this.#current !== attempt) return;
    this.#current = null;
    this.#env.state.release(attempt.deployment.id);
  }

  /** The client's response, which shutdown waits on after a cut. */
  get response(): ServerResponse {
    return this.#res;
  }

  #finish(outcome: 'ok' | 'error' | 'aborted', error: SluiceError | null): void {
    this.#env.running.remove(this);
    this.#env.finish(this.#ctx, outcome, error);
  }

  /** Ends the request now with `error` (shutdown); a started event stream gets it as its final event. */
  cut(error: SluiceError): void {
    if (this.#done) return;
    if (this.#current !== null) return this.#current.cut(error);
    // Waiting out a backoff: nothing upstream to stop.
    if (this.#backoff !== null) clearTimeout(this.#backoff);
    this.#backoff = null;
    this.#endWith(error);
  }

  #giveUp(error: SluiceError = this.#noDeployment()): void {
    if (this.#done) return;
    this.#endWith(error);
  }

  /** Answers with an error while no attempt is running, and closes the books. */
  #endWith(error: SluiceError): void {
    this.#done = true;
    this.#res.off('close', this.#onClientClose);
    const ids: Record<string, string> = this.#ctx.api === 'anthropic' ? { 'x-request-id': this.#ctx.id, 'request-id': this.#ctx.id } : { 'x-request-id': this.#ctx.id };
    writeError(this.#res, this.#ctx, error, { ...ids, ...this.#ctx.responseHeaders }, localizeFor(this.#env.localizer, error, this.#ctx), this.#wire.errorBody);
    this.#finish('error', error);
  }

  /** A 503 that says why nobody in the current group can take the request. */
  #noDeployment(): SluiceError {
    return this.#health.noDeployment(this.#group, this.#lastError);
  }

  /** Whether the prompt's estimated tokens fit the group's largest `max_input_tokens` (unknown = fits). */
  #fitsContext(group: ModelGroup): boolean {
    let limit = 0;
    for (const d of group.deployments) {
      const max = d.info['max_input_tokens'];
      if (typeof max !== 'number') return true;
      limit = Math.max(limit, max);
    }
    return limit === 0 || this.#wire.estimateRequestTokens(this.#ctx.body) <= limit;
  }
}

/** Exponential backoff with jitter, never below the configured floor or the backend's Retry-After. */
function backoffMs(attempt: number, floorMs: number, retryAfterMs: number | null): number {
  const exp = Math.min(8000, 250 * 2 ** (attempt - 1));
  const jittered = exp * (0.5 + Math.random() * 0.5);
  return Math.max(jittered, floorMs, retryAfterMs ?? 0);
}

function parseRetryAfter(value: string | string[] | undefined): number | null {
  if (typeof value !== 'string') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
