// What every response translator holds: a non-streamed answer (or an error body), whole until its end, and the
// incomplete end of a stream event; both within a bound, so a backend cannot make the gateway hold without end.

import { SluiceError } from '../errors.ts';

/** Largest whole answer, or incomplete stream event, a translator holds (8 MB). */
export const MAX_HELD_BYTES = 8 * 1024 * 1024;

/** A backend's answer or event grew past what a translator holds: a bad upstream response. */
export function heldTooLarge(limit: number = MAX_HELD_BYTES): SluiceError {
  return new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', `The backend sent more than ${limit} bytes without completing an answer or event.`);
}

/** A non-streamed answer, held whole until its end and then translated at once. */
export class HeldAnswer {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit: number = MAX_HELD_BYTES) {
    this.#limit = limit;
  }

  /** Throws `heldTooLarge` past the limit. */
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size > this.#limit) throw heldTooLarge(this.#limit);
  }

  text(): string {
    return Buffer.concat(this.#chunks, this.#size).toString('utf8');
  }
}

type Headers = Record<string, string | string[] | undefined>;

/** The backend's headers for a translated answer: its length and content coding no longer hold; the rest passes on. */
export function translatedHeaders(headers: Readonly<Headers>): Headers {
  const out: Headers = { ...headers };
  delete out['content-length'];
  delete out['content-encoding'];
  return out;
}

/** A successful answer streamed as server-sent events: translated event by event rather than held whole. */
export function isEventStreamAnswer(status: number, headers: Readonly<Headers>): boolean {
  const type = headers['content-type'];
  return status < 400 && typeof type === 'string' && type.startsWith('text/event-stream');
}
