// Request set-ups take turns with the bytes of streams already running.
//
// A burst of requests (clients starting streams at once) arrives in one pass of the event loop's poll phase. Set up
// one after another, each (parse, plugins, upstream request) holds the loop for tens of µs, and the first chunks of
// the streams set up earlier wait in their sockets until the whole burst is through: in a wave of 50, milliseconds.
// Here set-ups run in the loop's check phase (setImmediate), for at most TURN_BUDGET_MS per turn; what is left
// waits for the next turn, and between two turns the loop reads the upstream sockets and forwards what came. A turn
// costs a pass of the loop (a poll syscall among others), so a budget per turn, not one set-up per turn: a burst
// of small set-ups shares few turns.

type Setup = () => void;

/** How long one turn may run queued set-ups before the loop reads the sockets again. */
const TURN_BUDGET_MS = 0.5;

export class SetupTurns {
  readonly #waiting: Setup[] = [];
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  readonly #budgetMs: number;
  #head = 0;
  #scheduled = false;

  /**
   * `onError` hears a set-up that threw (the default throws it on, as from any timer callback); `now` and
   * `budgetMs` are for tests: a fake clock shows where a turn ends without timing anything.
   */
  constructor(options: { readonly onError?: (error: unknown) => void; readonly now?: () => number; readonly budgetMs?: number } = {}) {
    this.#onError = options.onError ?? rethrow;
    this.#now = options.now ?? (() => performance.now());
    this.#budgetMs = options.budgetMs ?? TURN_BUDGET_MS;
  }

  /** Runs `setup` in the loop's check phase, after those queued before it. */
  enqueue(setup: Setup): void {
    this.#waiting.push(setup);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#turn);
    }
  }

  readonly #turn = (): void => {
    const until = this.#now() + this.#budgetMs;
    try {
      do {
        const setup = this.#waiting[this.#head]!;
        this.#waiting[this.#head++] = NOTHING;
        try {
          setup();
        } catch (error) {
          this.#onError(error);
        }
      } while (this.#head < this.#waiting.length && this.#now() < until);
    } finally {
      // Even when onError threw: the set-ups behind still get their turn.
      if (this.#head < this.#waiting.length) {
        setImmediate(this.#turn);
        // A backlog that never empties would keep every slot it ever used: the run ones are dropped now and then.
        if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#waiting.length) {
          this.#waiting.splice(0, this.#head);
          this.#head = 0;
        }
      } else {
        this.#waiting.length = 0;
        this.#head = 0;
        this.#scheduled = false;
      }
    }
  };
}

const NOTHING: Setup = () => undefined;

/** Run slots kept at the head of the queue before they are dropped (see #turn). */
const COMPACT_AFTER = 1024;

function rethrow(error: unknown): never {
  throw error;
}
