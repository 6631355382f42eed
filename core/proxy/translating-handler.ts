// An undici handler that translates a backend's answer for the attempt it wraps (undici's decorator-handler
// pattern): the attempt sees the client's wire format and stays unaware of the backend's.

import type { Dispatcher } from 'undici';
import { SluiceError } from '../errors.ts';
import type { ResponseTranslator } from '../providers/wire-format.ts';

type Headers = Record<string, string | string[] | undefined>;

export class TranslatingHandler implements Dispatcher.DispatchHandler {
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #translator: ResponseTranslator;
  #deferred = false;
  #failed = false;

  constructor(inner: Dispatcher.DispatchHandler, translator: ResponseTranslator) {
    this.#inner = inner;
    this.#translator = translator;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#inner.onRequestStart?.(controller, context);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Headers, statusMessage?: string): void {
    const head = this.#guard(controller, () => this.#translator.start(status, headers));
    if (head === undefined) return;
    this.#deferred = head.deferred;
    if (!head.deferred) this.#inner.onResponseStart?.(controller, head.status, head.headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#failed) return;
    const out = this.#guard(controller, () => this.#translator.data(chunk));
    if (out !== undefined && out.length > 0) this.#inner.onResponseData?.(controller, out);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Headers): void {
    if (this.#failed) return;
    const tail = this.#guard(controller, () => this.#translator.end());
    if (tail === undefined) return;
    if (this.#deferred) {
      // The whole answer is known now: its length is that of the translated body.
      const headers = { ...tail.headers, 'content-length': String(tail.body.length) };
      this.#inner.onResponseStart?.(controller, tail.status, headers);
    }
    if (tail.body.length > 0) this.#inner.onResponseData?.(controller, tail.body);
    this.#inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#failed) return;
    this.#inner.onResponseError?.(controller, error);
  }

  /** A translation that throws fails the attempt as a bad upstream answer, never the process. */
  #guard<T>(controller: Dispatcher.DispatchController, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (thrown) {
      this.#failed = true;
      const error =
        thrown instanceof SluiceError
          ? thrown
          : new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', `The backend's answer could not be translated (${(thrown as Error).message}).`, { cause: thrown });
      this.#inner.onResponseError?.(controller, error);
      controller.abort(error);
      return undefined;
    }
  }
}

type Head = { readonly deferred: boolean; readonly status: number; readonly headers: Headers };

/**
 * Two translations in a row, for a client API bridged to a backend of a third (an Ollama client on an `anthropic/`
 * deployment): the backend's answer becomes OpenAI's in `first`, then the client's in `second`.
 */
export class ChainedTranslator implements ResponseTranslator {
  readonly #first: ResponseTranslator;
  readonly #second: ResponseTranslator;
  /** `first` holds the answer whole: `second` starts only at the end. */
  #firstDeferred = false;

  constructor(first: ResponseTranslator, second: ResponseTranslator) {
    this.#first = first;
    this.#second = second;
  }

  start(status: number, headers: Readonly<Headers>): Head {
    const head = this.#first.start(status, headers);
    this.#firstDeferred = head.deferred;
    if (head.deferred) return head;
    return this.#second.start(head.status, head.headers);
  }

  data(chunk: Buffer): Buffer {
    if (this.#firstDeferred) {
      this.#first.data(chunk);
      return EMPTY;
    }
    const middle = this.#first.data(chunk);
    return middle.length === 0 ? EMPTY : this.#second.data(middle);
  }

  end(): { readonly status: number; readonly headers: Headers; readonly body: Buffer } {
    const tail = this.#first.end();
    if (this.#firstDeferred) {
      const head = this.#second.start(tail.status, tail.headers);
      const body = this.#second.data(tail.body);
      const last = this.#second.end();
      const whole = body.length === 0 ? last.body : Buffer.concat([body, last.body]);
      return head.deferred ? { status: last.status, headers: last.headers, body: whole } : { status: head.status, headers: head.headers, body: whole };
    }
    const body = tail.body.length === 0 ? EMPTY : this.#second.data(tail.body);
    const last = this.#second.end();
    return { status: last.status, headers: last.headers, body: body.length === 0 ? last.body : last.body.length === 0 ? body : Buffer.concat([body, last.body]) };
  }
}

const EMPTY = Buffer.alloc(0);
