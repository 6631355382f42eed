// The request phases: read the body, run the chain's request phases, hand the request to the retry loop, and close
// the books on it (onResponseEnd / onError / onAbort, then log). Also runs the routes that are not proxied.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestId } from '../http/headers.ts';
import { DISCARD_LIMIT, discardBody, parseJsonObject, readBody, readBodyThen } from '../http/body.ts';
import { FORM_ENDPOINTS, formOf, SPOOLED_FORM, spoolForm, type SpooledForm } from '../http/multipart.ts';
import { isReply, writeError, writeReply, type Reply } from '../http/reply.ts';
import type { Chain } from '../plugin/chain.ts';
import { RequestContext, type ClientApi, type Outcome, type RouteKind } from '../plugin/context.ts';
import { localizeFor, type ErrorLocalizer } from '../plugin/localize.ts';
import { REQUEST_PHASES } from '../plugin/phases.ts';
import type { Endpoint, ModelGroup, WildcardGroups } from '../config/models.ts';
import type { RouterSettings } from '../config/router-settings.ts';
import type { CorsSettings, ServerSettings } from '../config/load.ts';
import { setPreflightHeaders } from '../http/cors.ts';
import { SluiceError, toSluiceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RouterState } from '../state/router-state.ts';
import type { Upstreams } from './pools.ts';
import type { WireFormat } from '../providers/wire-format.ts';
import { apiOfPath, wireOf } from '../providers/index.ts';
import { RetryLoop, type RunEnv, type RunningLoops } from './retry-loop.ts';
import { SetupTurns } from './setup-turns.ts';

const EMPTY = Buffer.alloc(0);

/**
 * One queue for the process: request set-ups from every generation take turns with all running streams. Each
 * set-up catches its own errors (see `#bodyRead`), so the queue's default, throwing one on, never runs.
 */
const SETUP_TURNS = new SetupTurns();

/** A route answered by the gateway or a plugin rather than proxied. */
export interface LocalRoute {
  /** Run the chain's authenticate phase first (the auth plugin decides which paths stay open). */
  readonly auth: boolean;
  /** Read and parse the request body first (POST routes). */
  readonly readsBody: boolean;
  /** With `readsBody`: keep the bytes in `ctx.rawBody` unparsed (`ctx.body` stays `{}`) instead of reading JSON. */
  readonly rawBody?: boolean;
  handle(ctx: RequestContext): Reply | Promise<Reply>;
}

/** Where a proxied route's requests go: its endpoint, and the wire format its clients speak. */
export interface ProxyTarget {
  readonly endpoint: Endpoint;
  readonly wire: WireFormat;
}

/** What one generation of the config gives the pipeline. */
export interface PipelineConfig {
  readonly chain: Chain;
  readonly groups: ReadonlyMap<string, ModelGroup>;
  /** `model_name` patterns (`*`, `groq/*`) for models no explicit group has; null: none. */
  readonly wildcards: WildcardGroups | null;
  readonly settings: RouterSettings;
  readonly server: ServerSettings;
  readonly localizer: ErrorLocalizer;
  /** Long-lived parts, shared by every generation. */
  readonly state: RouterState;
  readonly upstreams: Upstreams;
  readonly logger: Logger;
  /** Requests sent upstream and not yet answered in full, across generations: what shutdown may cut. */
  readonly running: RunningLoops;
}

export class Pipeline {
  readonly #config: PipelineConfig;
  readonly #runEnv: RunEnv;

  constructor(config: PipelineConfig) {
    this.#config = config;
    this.#runEnv = {
      chain: config.chain,
      state: config.state,
      settings: config.settings,
      upstreams: config.upstreams,
      lookup: this.lookup,
      timeouts: config.server.timeouts,
      localizer: config.localizer,
      running: config.running,
      finish: (ctx, outcome, error) => {
        // The gateway's or a plugin's code failed after dispatch (caught in a callback or a timer): logged as below.
        if (error !== null) this.#logFailure(ctx, error);
        this.finish(ctx, outcome, error);
      },
    };
  }

  /** A proxied request: body, request phases, then the retry loop. Never throws. */
  proxy(req: IncomingMessage, res: ServerResponse, route: ProxyTarget, path: string): void {
    const startedAt = performance.now();
    if (FORM_ENDPOINTS.has(route.endpoint)) {
      this.#proxyForm(req, res, route, path, startedAt).catch((error: unknown) => this.unexpected(req, res, path, error));
      return;
    }
    const server = this.#config.server;
    // A callback, not a promise: the usual request goes from its body to the upstream without an await.
    try {
      readBodyThen(req, server.bodyLimit, server.timeouts.clientBody, (failure, raw) => this.#bodyRead(req, res, route, path, startedAt, failure, raw));
    } catch (error) {
      this.unexpected(req, res, path, error);
    }
  }

  /**
   * The body as read (or why it could not be): parsed and checked, then the request phases when their turn comes
   * (SetupTurns). Never throws.
   */
  #bodyRead(req: IncomingMessage, res: ServerResponse, route: ProxyTarget, path: string, startedAt: number, failure: SluiceError | null, raw: Buffer): void {
    try {
      if (failure !== null) return this.#refuseBody(req, res, path, route.endpoint, startedAt, null, failure);
      let body: Record<string, unknown> | null = null;
      try {
        body = parseJsonObject(raw);
        route.wire.validate(route.endpoint, body);
      } catch (error) {
        return this.#refuseBody(req, res, path, route.endpoint, startedAt, body, toSluiceError(error));
      }
      const parsed = body;
      SETUP_TURNS.enqueue(() => {
        try {
          this.#proxyParsed(req, res, route, path, startedAt, parsed, raw, null);
        } catch (error) {
          this.unexpected(req, res, path, error);
        }
      });
    } catch (error) {
      this.unexpected(req, res, path, error);
    }
  }

  /** An upload (multipart form): spooled to disk, then proxied as any request. */
  async #proxyForm(req: IncomingMessage, res: ServerResponse, route: ProxyTarget, path: string, startedAt: number): Promise<void> {
    const server = this.#config.server;
    let body: Record<string, unknown> | null = null;
    let form: SpooledForm | null = null;
    try {
      form = await spoolForm(req, server.bodyLimit, server.timeouts.clientBody);
      body = { ...form.fields };
      validateForm(form);
    } catch (error) {
      form?.dispose();
      this.#refuseBody(req, res, path, route.endpoint, startedAt, body, toSluiceError(error));
      return;
    }
    this.#proxyParsed(req, res, route, path, startedAt, body, EMPTY, form);
  }

  /** The request phases, then the retry loop; synchronous while every hook is. */
  #proxyParsed(
    req: IncomingMessage,
    res: ServerResponse,
    route: ProxyTarget,
    path: string,
    startedAt: number,
    body: Record<string, unknown>,
    raw: Buffer,
    form: SpooledForm | null,
  ): void {
    const { endpoint, wire } = route;
    // A form's fields are strings: `stream` is "true" there.
    const stream = form === null ? wire.isStream(endpoint, body) : body['stream'] === 'true';
    const ctx = newContext(req, path, endpoint, startedAt, body, raw, wire.id, stream);
    if (form !== null) ctx.set(SPOOLED_FORM, form);
    let phases: Reply | RetryLoop | Promise<Reply | RetryLoop>;
    try {
      phases = this.#runRequestPhases(ctx, req, res, wire);
    } catch (error) {
      this.#fail(res, ctx, error);
      return;
    }
    if (!(phases instanceof Promise)) return this.#afterRequestPhases(ctx, res, phases);
    phases
      .then(
        (next) => this.#afterRequestPhases(ctx, res, next),
        (error: unknown) => this.#fail(res, ctx, error),
      )
      .catch((error: unknown) => this.unexpected(req, res, path, error));
  }

  /** A plugin's reply is sent; otherwise the retry loop starts, unless the client left meanwhile. */
  #afterRequestPhases(ctx: RequestContext, res: ServerResponse, next: Reply | RetryLoop): void {
    try {
      if (isReply(next)) {
        writeReply(res, ctx, next, { ...baseHeaders(ctx), ...ctx.responseHeaders });
        this.finish(ctx, 'replied', null);
        return;
      }
      if (res.destroyed) {
        this.finish(ctx, 'aborted', null);
        return;
      }
      next.start();
    } catch (error) {
      this.#fail(res, ctx, error);
    }
  }

  /** `server.cors`, for the route table; null when off. */
  get cors(): CorsSettings | null {
    return this.#config.server.cors;
  }

  /** A CORS preflight for a path the gateway serves: 204, with the Access-Control-Allow-* headers for an allowed origin. */
  preflight(req: IncomingMessage, res: ServerResponse, path: string, cors: CorsSettings): Promise<void> {
    setPreflightHeaders(cors, req, res);
    // Before any key check: a browser sends no credentials with a preflight.
    return this.local(req, res, path, { auth: false, readsBody: false, handle: () => ({ kind: 'reply', status: 204, body: '', headers: {} }) });
  }

  /** A local route (the gateway's own, or a plugin's): authenticate when it asks, then its handler. */
  async local(req: IncomingMessage, res: ServerResponse, path: string, route: LocalRoute): Promise<void> {
    const startedAt = performance.now();
    let raw: Buffer = EMPTY;
    let body: Record<string, unknown> = {};
    if (route.readsBody) {
      try {
        raw = await readBody(req, this.#config.server.bodyLimit, this.#config.server.timeouts.clientBody);
        if (raw.length > 0 && route.rawBody !== true) body = parseJsonObject(raw);
      } catch (error) {
        this.#refuseBody(req, res, path, 'info', startedAt, null, toSluiceError(error));
        return;
      }
    } else {
      req.resume();
    }
    const ctx = newContext(req, path, 'info', startedAt, body, raw);
    const chain = this.#config.chain;
    try {
      if (route.auth && chain.hooks.authenticate !== null) {
        const refused = await chain.runPhase(chain.hooks.authenticate, ctx);
        if (refused !== undefined) {
          writeReply(res, ctx, refused, { ...baseHeaders(ctx), ...ctx.responseHeaders });
          this.finish(ctx, 'replied', null);
          return;
        }
      }
      const reply = await route.handle(ctx);
      writeReply(res, ctx, reply, { ...baseHeaders(ctx), ...ctx.responseHeaders });
      this.finish(ctx, 'ok', null);
    } catch (error) {
      this.#fail(res, ctx, error);
    }
  }

  /** Whether a WebSocket upgrade may go through: the authenticate phase passes it (always, when `auth` is off). */
  async authorizeUpgrade(req: IncomingMessage, auth: boolean): Promise<boolean> {
    const chain = this.#config.chain;
    if (!auth || chain.hooks.authenticate === null) return true;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const ctx = newContext(req, q === -1 ? url : url.slice(0, q), 'info', performance.now(), {}, EMPTY);
    try {
      return (await chain.runPhase(chain.hooks.authenticate, ctx)) === undefined;
    } catch {
      return false;
    }
  }

  /**
   * A pass-through request: authenticated when its entry asks (the body is not read: it goes upstream as it comes),
   * then handed to `forward`. `onError` and `log` see it as they see any request.
   */
  async passThrough(req: IncomingMessage, res: ServerResponse, path: string, auth: boolean, forward: (failed: (error: Error) => void) => void): Promise<void> {
    const ctx = newContext(req, path, 'info', performance.now(), {}, EMPTY);
    const chain = this.#config.chain;
    try {
      if (auth && chain.hooks.authenticate !== null) {
        const refused = await chain.runPhase(chain.hooks.authenticate, ctx);
        if (refused !== undefined) {
          req.resume();
          writeReply(res, ctx, refused, { ...baseHeaders(ctx), ...ctx.responseHeaders });
          this.finish(ctx, 'replied', null);
          return;
        }
      }
    } catch (error) {
      req.resume();
      this.#fail(res, ctx, error);
      return;
    }
    res.once('close', () => {
      if (ctx.outcome !== 'pending') return;
      ctx.status = res.statusCode;
      this.finish(ctx, res.writableFinished ? 'ok' : 'aborted', null);
    });
    forward((error) => {
      const failure = new SluiceError('SLUICE_UPSTREAM_UNREACHABLE', `Pass-through target for ${path} failed (${error.message}).`, { cause: error });
      this.#sendError(res, ctx, failure, baseHeaders(ctx));
      this.finish(ctx, 'error', failure);
    });
  }

  /**
   * The request phases in the order `REQUEST_PHASES` lists them, from index `from` on. Between them run the core's
   * own steps: the model group is resolved before `admit`, and the `route` phase is the retry loop's first pick.
   * Returns a plugin's reply, or the retry loop that will send the request upstream. Synchronous while every hook
   * is (the usual chain: keys, limits in memory, routing); a phase that returns a promise continues after it.
   */
  #runRequestPhases(ctx: RequestContext, req: IncomingMessage, res: ServerResponse, wire: WireFormat, from = 0, run: RetryLoop | null = null): Reply | RetryLoop | Promise<Reply | RetryLoop> {
    const chain = this.#config.chain;
    for (let i = from; i < REQUEST_PHASES.length; i++) {
      const phase = REQUEST_PHASES[i]!;
      if (phase === 'admit') ctx.group = this.#resolveGroup(ctx);
      if (phase === 'route') {
        const loop = (run = new RetryLoop(this.#runEnv, ctx, req, res, ctx.group!, wire));
        const prepared = loop.prepare();
        if (prepared !== undefined) return prepared.then(() => this.#runRequestPhases(ctx, req, res, wire, i + 1, loop));
        continue;
      }
      const hooks = chain.hooks[phase];
      if (hooks === null) continue;
      const reply = chain.runPhase(hooks, ctx);
      if (reply === undefined) continue;
      if (isReply(reply)) return reply;
      const loop = run;
      return reply.then((answer) => answer ?? this.#runRequestPhases(ctx, req, res, wire, i + 1, loop));
    }
    return run!;
  }

  /**
   * The group serving a model name, for a request or a fallback: a model_group_alias first, as LiteLLM's router
   * does; then an explicit group, which wins over any wildcard pattern.
   */
  readonly lookup = (model: string): ModelGroup | undefined => {
    const name = this.#config.settings.aliases.get(model)?.group ?? model;
    return this.#config.groups.get(name) ?? this.#config.wildcards?.groupFor(name) ?? undefined;
  };

  #resolveGroup(ctx: RequestContext): ModelGroup {
    const group = this.lookup(ctx.model);
    if (group === undefined) {
      throw new SluiceError('SLUICE_MODEL_NOT_FOUND', `The model \`${ctx.model}\` does not exist or you do not have access to it.`, {
        param: 'model',
        details: { model: ctx.model },
      });
    }
    return group;
  }

  /** Closes the books on a request: exactly one of onResponseEnd, onError or onAbort, then log. */
  finish(ctx: RequestContext, outcome: Outcome, error: SluiceError | null): void {
    ctx.settle(outcome, performance.now());
    formOf(ctx)?.dispose();
    const chain = this.#config.chain;
    if (error !== null) {
      ctx.error = error;
      chain.runOnError(ctx, error);
    } else if (outcome === 'aborted') {
      chain.runFinal(chain.hooks.onAbort, ctx);
    } else if (outcome === 'ok') {
      chain.runFinal(chain.hooks.onResponseEnd, ctx);
    }
    chain.runFinal(chain.hooks.log, ctx);
  }

  /**
   * A request refused before the plugin chain (unknown URL, wrong method, unreadable body) still gets a context,
   * so `onError` and `log` see it: the access log has every request, as nginx's does.
   */
  refuse(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    endpoint: RouteKind,
    startedAt: number,
    body: Record<string, unknown> | null,
    error: SluiceError,
    headers: Readonly<Record<string, string>>,
  ): void {
    const ctx = newContext(req, path, endpoint, startedAt, body ?? {}, EMPTY);
    this.#sendError(res, ctx, error, { ...baseHeaders(ctx), ...headers });
    this.finish(ctx, 'error', error);
  }

  /**
   * A request whose body was refused (too large, stalled, not JSON). A stalled body ends the connection (HTTP/2: the
   * stream) after the answer. Over HTTP/2 a stream reset with NO_ERROR stops an unwanted upload and leaves the answer
   * readable; over HTTP/1.1 closing would reset the connection under a client still sending, so the rest of the
   * body is discarded instead, within bounds.
   */
  #refuseBody(req: IncomingMessage, res: ServerResponse, path: string, endpoint: RouteKind, startedAt: number, body: Record<string, unknown> | null, failure: SluiceError): void {
    const unread = !req.complete;
    const ends = failure.status === 408 || (unread && req.httpVersionMajor === 2);
    if (ends) res.shouldKeepAlive = false;
    this.refuse(req, res, path, endpoint, startedAt, body, failure, {});
    if (unread && !ends) discardBody(req, res, DISCARD_LIMIT, this.#config.server.timeouts.clientBody);
  }

  /** The last resort for a throw that escaped a request's own handling: answer it if nothing was sent yet. */
  unexpected(req: IncomingMessage, res: ServerResponse, path: string, error: unknown): void {
    this.#config.logger.error('unhandled error in request path', { error });
    if (res.headersSent || res.destroyed) return;
    this.refuse(req, res, path, 'info', performance.now(), null, toSluiceError(error), {});
  }

  #fail(res: ServerResponse, ctx: RequestContext, error: unknown): void {
    const failure = toSluiceError(error);
    this.#logFailure(ctx, failure);
    this.#sendError(res, ctx, failure, { ...baseHeaders(ctx), ...ctx.responseHeaders });
    this.finish(ctx, 'error', failure);
  }

  /** A failure of the gateway's or a plugin's own code is worth a log line; the client's or a backend's is not. */
  #logFailure(ctx: RequestContext, failure: SluiceError): void {
    if (failure.code === 'SLUICE_PLUGIN_FAILED' || failure.code === 'SLUICE_INTERNAL') {
      this.#config.logger.error(failure.message, { request: ctx.id, cause: failure.cause });
    }
  }

  /** Every error the pipeline writes goes through here: the message in the caller's language, `Content-Language` set. */
  #sendError(res: ServerResponse, ctx: RequestContext, error: SluiceError, extra: Readonly<Record<string, string>>): void {
    if (res.headersSent || res.destroyed) {
      ctx.status = error.status;
      return;
    }
    writeError(res, ctx, error, extra, localizeFor(this.#config.localizer, error, ctx), wireOf(ctx.api).errorBody);
  }
}

function newContext(
  req: IncomingMessage,
  path: string,
  endpoint: RouteKind,
  startedAt: number,
  body: Record<string, unknown>,
  raw: Buffer,
  api: ClientApi = apiOfPath(path),
  stream?: boolean,
): RequestContext {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new RequestContext(requestId(req), req.method ?? '', path, req.headers, req.socket.remoteAddress ?? '', endpoint, startedAt, body, raw, q === -1 ? '' : url.slice(q + 1), api, stream);
}

function baseHeaders(ctx: RequestContext): Record<string, string> {
  // Anthropic's SDKs read the request id from `request-id`.
  return ctx.api === 'anthropic' ? { 'x-request-id': ctx.id, 'request-id': ctx.id } : { 'x-request-id': ctx.id };
}

/** An upload form needs a non-empty `model` and a `file`, as OpenAI's audio routes do. */
function validateForm(form: SpooledForm): void {
  const model = form.fields['model'];
  if (model === undefined || model === '') throw new SluiceError('SLUICE_MISSING_PARAM', "The form needs a 'model' field.", { param: 'model' });
  if (!form.hasFile('file')) throw new SluiceError('SLUICE_MISSING_PARAM', "The form needs a 'file' part (the audio to transcribe).", { param: 'file' });
}
