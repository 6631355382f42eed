// The response path of one attempt: upstream bytes to the client as they arrive, with backpressure and timeouts.
//
// An exchange is undici's dispatch handler for one upstream attempt. Until the first body byte is written, a
// failure is handed to the attempt's owner (which may retry elsewhere); after it, the response belongs to the
// client and is finished or cut, never retried. Without a stream tap, the work per chunk is `res.write(chunk)`.

import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Chain } from './chain.ts';
import type { RequestContext } from './context.ts';
import { SluiceError, toSluiceError } from './errors.ts';
import type { Deployment } from './models.ts';
import type { LocalizedMessage } from './localize.ts';
import type { ResponseBody, UpstreamResponseHead } from './plugin.ts';
import { endStarted, errorBody, isReply, sendError, sendReply, type Reply } from './respond.ts';
import { SseTap } from './sse-tap.ts';
import { mapUpstreamError } from './upstream.ts';

/** Largest JSON body whose `usage` is read for accounting; bigger ones (huge embeddings) are not parsed. */
const USAGE_BODY_LIMIT = 4 * 1024 * 1024;

/** Fills `ctx.usage` from a complete OpenAI JSON response. */
function readJsonUsage(ctx: RequestContext, chunks: Buffer[]): void {
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  if (size === 0 || size > USAGE_BODY_LIMIT) return;
  try {
    const usage = (JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as { usage?: Record<string, unknown> }).usage;
    if (usage !== undefined && typeof usage['total_tokens'] === 'number') {
      ctx.usage = {
        promptTokens: typeof usage['prompt_tokens'] === 'number' ? usage['prompt_tokens'] : 0,
        completionTokens: typeof usage['completion_tokens'] === 'number' ? usage['completion_tokens'] : 0,
        totalTokens: usage['total_tokens'],
      };
    }
  } catch {
    // Not JSON (or compressed): no usage to charge.
  }
}

/** Response headers that describe one hop, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-connection']);

/** Largest success body held for `onResponseBody` hooks; a larger one is forwarded as it comes, unseen. */
const WHOLE_BODY_LIMIT = 4 * 1024 * 1024;

/** Largest upstream error body read to decide on a retry or fallback. */
const ERROR_BODY_LIMIT = 64 * 1024;

type Headers = Record<string, string | string[] | undefined>;

const NOT_PARSED = Symbol('not parsed');

/**
 * A held response body for `onResponseBody`, its JSON parsed on first use. A class rather than an object literal
 * with a getter: each such literal gets its own hidden class, allocated in old space, which made every scavenge slow.
 */
class HeldBody implements ResponseBody {
  readonly status: number;
  readonly raw: Buffer;
  #json: unknown = NOT_PARSED;

  constructor(status: number, raw: Buffer) {
    this.status = status;
    this.raw = raw;
  }

  get json(): unknown {
    if (this.#json === NOT_PARSED) {
      try {
        this.#json = JSON.parse(this.raw.toString('utf8'));
      } catch {
        this.#json = undefined;
      }
    }
    return this.#json;
  }
}

/** What an exchange reports to the request's attempt loop. */
export interface AttemptOwner {
  readonly chain: Chain;
  /** The backend answered with an error status. True: the owner retries (this attempt goes quiet). */
  upstreamError(attempt: ProxyExchange, status: number, headers: Headers, body: Buffer | null): boolean;
  /** Whether to read the error body before `upstreamError` (e.g. to spot a content-policy refusal). */
  needsErrorBody(status: number): boolean;
  /** A transport error or timeout before the client got a byte. True: the owner retries. */
  attemptFailed(attempt: ProxyExchange, error: SluiceError): boolean;
  /** Headers every client response gets (request id, routing details). */
  clientHeaders(attempt: ProxyExchange): Record<string, string>;
  /** The error's message in the caller's language. */
  localize(error: SluiceError): LocalizedMessage;
  /** The gateway added `stream_options.include_usage` for its own accounting; that usage event is not forwarded. */
  readonly usageInjected: boolean;
  /** The attempt is over; called exactly once, unless a retry took it over. */
  ended(attempt: ProxyExchange, outcome: 'ok' | 'error', error: SluiceError | null): void;
}

export class ProxyExchange implements Dispatcher.DispatchHandler {
  readonly deployment: Deployment;
  /** `performance.now()` at dispatch, first body byte from upstream, and end. */
  readonly dispatchedAt: number;
  firstDataAt = 0;
  readonly #ctx: RequestContext;
  readonly #res: ServerResponse;
  readonly #owner: AttemptOwner;
  #controller: Dispatcher.DispatchController | null = null;
  #tap: SseTap | null = null;
  #eventStream = false;
  /** Set once this attempt has finished or handed over to a retry; later callbacks are ignored. */
  #done = false;
  #abortReason: Error | null = null;
  /** A success response's status and headers, held until its first body byte so a failure before it can retry. */
  #held: { status: number; headers: Headers } | null = null;
  /** A success body held whole for the `onResponseBody` hooks (output guards). */
  #wholeBody: { status: number; headers: Headers; chunks: Buffer[]; size: number } | null = null;
  /** An error response's body being read for the retry decision. */
  #errorBody: { status: number; headers: Headers; chunks: Buffer[]; size: number } | null = null;
  #totalTimer: NodeJS.Timeout | null = null;
  #firstByteTimer: NodeJS.Timeout | null = null;
  #waitingForDrain = false;
  /** A JSON body kept (by reference) to read its `usage` at the end, when a plugin wants usage. */
  #jsonBody: Buffer[] | null = null;
  readonly #resume = (): void => {
    this.#waitingForDrain = false;
    this.#controller?.resume();
  };

  /**
   * Timeouts are ms, 0 = none. The first-byte deadline is kept here rather than left to undici's
   * `headersTimeout`, whose coarse timers fire up to a second late.
   */
  constructor(owner: AttemptOwner, ctx: RequestContext, res: ServerResponse, deployment: Deployment, firstByteMs: number, totalMs: number) {
    this.#owner = owner;
    this.#ctx = ctx;
    this.#res = res;
    this.deployment = deployment;
    this.dispatchedAt = performance.now();
    if (totalMs > 0) this.#totalTimer = setTimeout(() => this.#onTimeout(`did not finish within ${totalMs / 1000} s`), totalMs);
    if (firstByteMs > 0 && (totalMs === 0 || firstByteMs < totalMs)) {
      this.#firstByteTimer = setTimeout(() => this.#onTimeout(`sent no response within ${firstByteMs / 1000} s`), firstByteMs);
    }
  }

  /** True once bytes of this attempt reached the client: from then on it can only finish or be cut. */
  get committed(): boolean {
    return this.#res.headersSent;
  }

  /** Stops the upstream request (the client left). Reports nothing: the owner already knows. */
  abort(reason: Error): void {
    if (this.#done) return;
    this.#settle();
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason !== null) controller.abort(this.#abortReason);
  }

  // undici's callbacks: a throw in one would reach the event loop and end the process, so none may escape.
  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Headers): void {
    try {
      this.#responseStart(controller, status, headers);
    } catch (error) {
      this.#crashed(error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    try {
      this.#responseData(controller, chunk);
    } catch (error) {
      this.#crashed(error);
    }
  }

  onResponseEnd(controller: Dispatcher.DispatchController): void {
    try {
      this.#responseEnd(controller);
    } catch (error) {
      this.#crashed(error);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#done) return;
    try {
      this.#fail(mapUpstreamError(error, this.deployment));
    } catch (thrown) {
      this.#crashed(thrown);
    }
  }

  #responseStart(controller: Dispatcher.DispatchController, status: number, headers: Headers): void {
    this.#controller = controller;
    if (this.#done) return;
    if (this.#firstByteTimer !== null) {
      clearTimeout(this.#firstByteTimer);
      this.#firstByteTimer = null;
    }
    this.#ctx.upstreamStatus = status;
    if (status >= 400) {
      if (this.#owner.needsErrorBody(status)) {
        this.#errorBody = { status, headers, chunks: [], size: 0 };
        return;
      }
      if (this.#owner.upstreamError(this, status, headers, null)) return this.#handOver(controller);
      this.#writeHead(status, headers);
      return;
    }
    const contentType = headers['content-type'];
    if (this.#owner.chain.onResponseBody !== null && !(typeof contentType === 'string' && contentType.startsWith('text/event-stream'))) {
      this.#wholeBody = { status, headers, chunks: [], size: 0 };
      return;
    }
    this.#held = { status, headers };
  }

  #responseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done) return;
    if (this.firstDataAt === 0) this.firstDataAt = performance.now();
    const pending = this.#errorBody;
    if (pending !== null) {
      pending.chunks.push(chunk);
      pending.size += chunk.length;
      if (pending.size >= ERROR_BODY_LIMIT) this.#decideOnErrorBody(controller);
      return;
    }
    const whole = this.#wholeBody;
    if (whole !== null) {
      whole.chunks.push(chunk);
      whole.size += chunk.length;
      if (whole.size > WHOLE_BODY_LIMIT) {
        // Too big to hold: forward what came so far and stream the rest, as if no plugin had asked.
        this.#wholeBody = null;
        if (!this.#writeHead(whole.status, whole.headers)) return;
        for (const held of whole.chunks) this.#res.write(held);
      }
      return;
    }
    if (this.#held !== null) {
      const { status, headers } = this.#held;
      this.#held = null;
      if (!this.#writeHead(status, headers)) return;
    }
    let bytes: Buffer | null = chunk;
    const tap = this.#tap;
    if (tap !== null) {
      bytes = tap.push(chunk);
      if (tap.stopped !== null) {
        if (bytes !== null) this.#res.write(bytes);
        const stop = tap.stopped;
        endStarted(this.#res, true, stop.finalEvent, true);
        this.#end('error', stop.error);
        // After #end: undici may report the abort synchronously, and this attempt must already be over by then.
        controller.abort(stop.error);
        return;
      }
      if (bytes === null) return;
    }
    if (this.#jsonBody !== null) this.#jsonBody.push(bytes);
    // A slow client pauses the upstream read instead of letting chunks pile up in memory.
    if (!this.#res.write(bytes) && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      controller.pause();
      this.#res.once('drain', this.#resume);
    }
  }

  #responseEnd(controller: Dispatcher.DispatchController): void {
    if (this.#done) return;
    if (this.#errorBody !== null) {
      this.#decideOnErrorBody(controller);
      if (this.#done) return;
    }
    if (this.#wholeBody !== null) {
      this.#deliverWholeBody();
      return;
    }
    if (this.#held !== null) {
      // A success with an empty body: nothing could fail after this, so it is delivered as is.
      const { status, headers } = this.#held;
      this.#held = null;
      if (!this.#writeHead(status, headers)) return;
    }
    const rest = this.#tap?.flush();
    if (rest != null) this.#res.write(rest);
    this.#res.end();
    if (this.#jsonBody !== null) readJsonUsage(this.#ctx, this.#jsonBody);
    this.#end('ok', null);
  }

  /** The held body through the `onResponseBody` hooks, then to the client: as sent, or a hook's replacement. */
  #deliverWholeBody(): void {
    const whole = this.#wholeBody!;
    this.#wholeBody = null;
    const raw = Buffer.concat(whole.chunks, whole.size);
    const body = new HeldBody(whole.status, raw);
    const send = (reply: Reply | undefined): void => {
      if (this.#done) return;
      if (reply === undefined) {
        if (!this.#writeHead(whole.status, whole.headers)) return;
        this.#res.end(raw);
      } else {
        this.#ctx.status = reply.status;
        if (this.#ctx.firstByteAt === 0) this.#ctx.firstByteAt = performance.now();
        sendReply(this.#res, reply, { ...this.#owner.clientHeaders(this), ...this.#ctx.responseHeaders });
      }
      // The backend did the work (and counts the tokens) whether or not its answer was replaced.
      if (this.#owner.chain.wantsUsage) readJsonUsage(this.#ctx, [raw]);
      this.#end('ok', null);
    };
    let result: Reply | undefined | Promise<Reply | undefined>;
    try {
      result = this.#owner.chain.runBody(this.#ctx, body);
    } catch (error) {
      return this.#fail(error as SluiceError, true);
    }
    if (result === undefined || isReply(result)) return send(result);
    result.then(send, (error: unknown) => this.#fail(error as SluiceError, true)).catch((error: unknown) => this.#crashed(error));
  }

  #decideOnErrorBody(controller: Dispatcher.DispatchController): void {
    const pending = this.#errorBody!;
    this.#errorBody = null;
    const body = Buffer.concat(pending.chunks, pending.size);
    if (this.#owner.upstreamError(this, pending.status, pending.headers, body)) return this.#handOver(controller);
    if (this.#writeHead(pending.status, pending.headers)) this.#res.write(body);
  }

  /** Writes the client's status line and headers. False if a plugin failed the request instead. */
  #writeHead(status: number, headers: Headers): boolean {
    const ctx = this.#ctx;
    const contentType = headers['content-type'];
    this.#eventStream = typeof contentType === 'string' && contentType.startsWith('text/event-stream');
    const head: UpstreamResponseHead = { status, headers, isEventStream: this.#eventStream };
    try {
      this.#owner.chain.runHeaders(ctx, head);
    } catch (error) {
      this.#controller?.abort(error as Error);
      this.#fail(error as SluiceError, true);
      return false;
    }
    const out: Record<string, string | string[]> = this.#owner.clientHeaders(this);
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
    }
    Object.assign(out, ctx.responseHeaders);
    const chain = this.#owner.chain;
    if (this.#eventStream) {
      out['cache-control'] = 'no-cache';
      out['x-accel-buffering'] = 'no';
      if (chain.onResponseEvent !== null || chain.wantsUsage) {
        const usage = chain.wantsUsage && status < 400 ? { read: true, dropInjected: this.#owner.usageInjected } : null;
        this.#tap = new SseTap(ctx, chain.onResponseEvent ?? [], usage);
        // A plugin may end the stream early, so the upstream's length would no longer hold.
        delete out['content-length'];
      }
    } else if (chain.wantsUsage && status < 400) {
      this.#jsonBody = [];
    }
    ctx.status = status;
    if (ctx.firstByteAt === 0) ctx.firstByteAt = performance.now();
    this.#res.writeHead(status, out);
    return true;
  }

  #onTimeout(what: string): void {
    if (this.#done) return;
    const error = new SluiceError('SLUICE_UPSTREAM_TIMEOUT', `Upstream for model group "${this.deployment.group}" (deployment ${this.deployment.id}) ${what}.`, {
      details: { model: this.deployment.group, deployment: this.deployment.id },
    });
    try {
      this.#controller?.abort(error);
      this.#fail(error);
    } catch (thrown) {
      this.#crashed(thrown);
    }
  }

  /**
   * Something threw in an undici callback or a timer (a bug, a plugin): this request ends with the error, and the
   * process and every other stream go on.
   */
  #crashed(thrown: unknown): void {
    const error = toSluiceError(thrown);
    try {
      this.#fail(error, true);
      this.#controller?.abort(error);
    } catch {
      // Not even the error could be sent: drop this client rather than the process.
      this.#settle();
      this.#res.destroy();
    }
  }

  /**
   * Before the client got a byte, the owner may retry; otherwise the error is sent. After, an event stream gets
   * a final error event and any other body is cut short.
   */
  #fail(error: SluiceError, noRetry = false): void {
    if (this.#done) return;
    if (!this.#res.headersSent) {
      if (!noRetry && this.#owner.attemptFailed(this, error)) {
        this.#settle();
        return;
      }
      this.#ctx.status = error.status;
      sendError(this.#res, error, { ...this.#owner.clientHeaders(this), ...this.#ctx.responseHeaders }, this.#owner.localize(error));
    } else {
      endStarted(this.#res, this.#eventStream, errorBody(error, this.#owner.localize(error)), false);
    }
    this.#end('error', error);
  }

  #handOver(controller: Dispatcher.DispatchController): void {
    this.#settle();
    controller.abort(new Error('retrying on another deployment'));
  }

  #end(outcome: 'ok' | 'error', error: SluiceError | null): void {
    if (this.#done) return;
    this.#settle();
    this.#owner.ended(this, outcome, error);
  }

  #settle(): void {
    this.#done = true;
    if (this.#totalTimer !== null) clearTimeout(this.#totalTimer);
    if (this.#firstByteTimer !== null) clearTimeout(this.#firstByteTimer);
    this.#totalTimer = this.#firstByteTimer = null;
  }
}
