// Whole answers are written together, at the end of the event loop's pass that produced them.
//
// A pass of the loop reads many sockets: under load, the answers of several backends arrive in one poll phase. Each
// written at once is a system call that wakes its client (the load generator, a client library) on its own; written
// one after another at the end of the pass (the check phase), they reach the clients as one burst, which the kernel
// and the clients handle with fewer wake-ups. The bytes are the same and leave in the same pass, microseconds later.
// uWebSockets corks all writes of a pass the same way. Only whole answers (a JSON body ending its response) go
// through here: stream chunks are written as they come.

import type { ServerResponse } from 'node:http';

type Write = (res: ServerResponse, body: Buffer) => void;

export class AnswerWrites {
  readonly #write: Write;
  #pending: (ServerResponse | Buffer)[] = [];
  #scheduled = false;

  /** `write` ends one response with its body; it runs for each queued answer, in order, at the end of the pass. */
  constructor(write: Write) {
    this.#write = write;
  }

  /** Ends `res` with `body` at the end of this pass of the loop. */
  end(res: ServerResponse, body: Buffer): void {
    this.#pending.push(res, body);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    const pending = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    for (let i = 0; i < pending.length; i += 2) {
      const res = pending[i] as ServerResponse;
      // The client may have left meanwhile: its response is gone, and so is the need to write it.
      if (res.destroyed) continue;
      try {
        this.#write(res, pending[i + 1] as Buffer);
      } catch {
        // One broken response must not keep the others in this batch from their clients.
        res.destroy();
      }
    }
  };
}
