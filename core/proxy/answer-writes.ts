// Whole answers are written together, at the end of the event loop's pass that produced them.
//
// A pass of the loop reads many sockets: under load, the answers of several backends arrive in one poll phase. Each
// written at once is a system call that wakes its client (the load generator, a client library) on its own; written
// one after another at the end of the pass (the check phase), they reach the clients as one burst, which the kernel
// and the clients handle with fewer wake-ups. The bytes are the same and leave in the same pass. uWebSockets corks
// all writes of a pass the same way. Only whole answers (a JSON body ending its response) go through here: stream
// chunks are written as they come. Each answer's `written` callback runs after all of the pass's answers are out,
// so the bookkeeping that follows an answer (its log phase, metrics) never holds back another's bytes.

import type { ServerResponse } from 'node:http';

type Write = (res: ServerResponse, body: Buffer) => void;

interface Answer {
  readonly res: ServerResponse;
  readonly body: Buffer;
  readonly written: () => void;
}

export class AnswerWrites {
  readonly #write: Write;
  #pending: Answer[] = [];
  #scheduled = false;

  /** `write` ends one response with its body; it runs for each queued answer, in order, at the end of the pass. */
  constructor(write: Write) {
    this.#write = write;
  }

  /**
   * Ends `res` with `body` at the end of this pass of the loop, then calls `written` (also when the response was
   * gone by then, and so not written). `written` must not throw.
   */
  end(res: ServerResponse, body: Buffer, written: () => void): void {
    this.#pending.push({ res, body, written });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    const pending = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    for (const { res, body } of pending) {
      // A client that left (or an error path that ended the response meanwhile): nothing more goes to it. A second
      // end would not throw but fail later, as an 'error' event nobody listens to.
      if (res.destroyed || res.writableEnded) continue;
      try {
        this.#write(res, body);
      } catch {
        // One broken response must not keep the others in this batch from their clients.
        res.destroy();
      }
    }
    let thrown: { error: unknown } | null = null;
    for (const { written } of pending) {
      try {
        written();
      } catch (error) {
        thrown ??= { error };
      }
    }
    // Every answer's bookkeeping ran; a callback that broke its promise is thrown on, as from any timer.
    if (thrown !== null) throw thrown.error;
  };
}
