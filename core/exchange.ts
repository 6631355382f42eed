// The response path: upstream bytes to the client as they arrive, with backpressure, timeouts and aborts.
//
// An exchange is undici's dispatch handler for one request. Without a stream tap it does no work per chunk
// beyond `res.write(chunk)`; with one it forwards whole SSE events, unchanged.

import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Chain } from './chain.ts';
import type { RequestContext } from './context.ts';
import { SluiceError } from './errors.ts';
import type { Deployment } from './models.ts';
import type { UpstreamResponseHead } from './plugin.ts';
import { endStarted, sendError } from './respond.ts';
import { SseTap } from './sse-tap.ts';
import { mapUpstreamError } from './upstream.ts';

/** Response headers that describe one hop, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-connection']);

class ClientGone extends Error {
  constructor() {
    super('client disconnected');
    this.name = 'ClientGone';
  }
}

export interface ExchangeEnv {
  readonly chain: Chain;
  /** Called exactly once when the exchange ends, with how it ended. */
  readonly finish: (ctx: RequestContext, outcome: 'ok' | 'error' | 'aborted', error: SluiceError | null) => void;
  /** Headers every client response gets (request id...). */
  readonly baseHeaders: (ctx: RequestContext) => Record<string, string>;
}

export class ProxyExchange implements Dispatcher.DispatchHandler {
  readonly #ctx: RequestContext;
  readonly #res: ServerResponse;
  readonly #deployment: Deployment;
  readonly #env: ExchangeEnv;
  #controller: Dispatcher.DispatchController | null = null;
  #tap: SseTap | null = null;
  #eventStream = false;
  #done = false;
  #clientGone = false;
  #totalTimer: NodeJS.Timeout | null = null;
  #firstByteTimer: NodeJS.Timeout | null = null;
  #waitingForDrain = false;
  readonly #resume = (): void => {
    this.#waitingForDrain = false;
    this.#controller?.resume();
  };
  readonly #onClientClose = (): void => {
    if (this.#done || this.#res.writableFinished) return;
    this.#clientGone = true;
    // Stops the backend's work now (a GPU stops generating), then closes the books on this request.
    this.#controller?.abort(new ClientGone());
    this.#finish('aborted', null);
  };

  /**
   * Timeouts are ms, 0 = none. The first-byte deadline is kept here rather than left to undici's
   * `headersTimeout`, whose coarse timers fire up to a second late.
   */
  constructor(ctx: RequestContext, res: ServerResponse, deployment: Deployment, env: ExchangeEnv, firstByteMs: number, totalMs: number) {
    this.#ctx = ctx;
    this.#res = res;
    this.#deployment = deployment;
    this.#env = env;
    res.on('close', this.#onClientClose);
    if (totalMs > 0) this.#totalTimer = setTimeout(() => this.#onTimeout(`did not finish within ${totalMs / 1000} s`), totalMs);
    if (firstByteMs > 0 && (totalMs === 0 || firstByteMs < totalMs)) {
      this.#firstByteTimer = setTimeout(() => this.#onTimeout(`sent no response within ${firstByteMs / 1000} s`), firstByteMs);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new ClientGone());
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.#controller = controller;
    if (this.#done) return;
    if (this.#firstByteTimer !== null) {
      clearTimeout(this.#firstByteTimer);
      this.#firstByteTimer = null;
    }
    const ctx = this.#ctx;
    ctx.upstreamStatus = status;
    const contentType = headers['content-type'];
    this.#eventStream = typeof contentType === 'string' && contentType.startsWith('text/event-stream');
    const head: UpstreamResponseHead = { status, headers, isEventStream: this.#eventStream };
    try {
      this.#env.chain.runHeaders(ctx, head);
    } catch (error) {
      controller.abort(error as Error);
      this.#fail(error as SluiceError);
      return;
    }
    const out: Record<string, string | string[]> = this.#env.baseHeaders(ctx);
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
    }
    Object.assign(out, ctx.responseHeaders);
    if (this.#eventStream) {
      out['cache-control'] = 'no-cache';
      out['x-accel-buffering'] = 'no';
      const hooks = this.#env.chain.onResponseEvent;
      if (hooks !== null) {
        this.#tap = new SseTap(ctx, hooks);
        // A plugin may end the stream early, so the upstream's length would no longer hold.
        delete out['content-length'];
      }
    }
    ctx.status = status;
    this.#res.writeHead(status, out);
    // An SSE client should see the stream open before the first token; a JSON body goes out with its headers.
    if (this.#eventStream) this.#res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done) return;
    if (this.#ctx.firstByteAt === 0) this.#ctx.firstByteAt = performance.now();
    let bytes: Buffer | null = chunk;
    const tap = this.#tap;
    if (tap !== null) {
      bytes = tap.push(chunk);
      if (tap.stopped !== null) {
        if (bytes !== null) this.#res.write(bytes);
        const stop = tap.stopped;
        controller.abort(stop.error);
        endStarted(this.#res, true, stop.finalEvent, true);
        this.#finish('error', stop.error);
        return;
      }
      if (bytes === null) return;
    }
    // A slow client pauses the upstream read instead of letting chunks pile up in memory.
    if (!this.#res.write(bytes) && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      controller.pause();
      this.#res.once('drain', this.#resume);
    }
  }

  onResponseEnd(): void {
    if (this.#done) return;
    const rest = this.#tap?.flush();
    if (rest != null) this.#res.write(rest);
    this.#res.end();
    this.#finish('ok', null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#done) return;
    this.#fail(mapUpstreamError(error, this.#deployment));
  }

  #onTimeout(what: string): void {
    if (this.#done) return;
    const error = new SluiceError(
      'SLUICE_UPSTREAM_TIMEOUT',
      `Upstream for model group "${this.#deployment.group}" (deployment ${this.#deployment.id}) ${what}.`,
      { details: { model: this.#deployment.group, deployment: this.#deployment.id } },
    );
    this.#controller?.abort(error);
    this.#fail(error);
  }

  /** Sends the error if nothing was sent yet; otherwise ends the started response as well as its type allows. */
  #fail(error: SluiceError): void {
    if (this.#done) return;
    if (!this.#res.headersSent) {
      this.#ctx.status = error.status;
      sendError(this.#res, error, this.#env.baseHeaders(this.#ctx));
    } else {
      endStarted(this.#res, this.#eventStream, error.toJSON(), false);
    }
    this.#finish('error', error);
  }

  #finish(outcome: 'ok' | 'error' | 'aborted', error: SluiceError | null): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#totalTimer !== null) clearTimeout(this.#totalTimer);
    if (this.#firstByteTimer !== null) clearTimeout(this.#firstByteTimer);
    this.#res.off('close', this.#onClientClose);
    this.#env.finish(this.#ctx, outcome, error);
  }
}
