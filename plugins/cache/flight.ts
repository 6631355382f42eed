// Single flight in one process: while a request for key K is on its way upstream (the leader), identical requests
// (followers) wait for it to end instead of going upstream too, then read the entry it stored. When the leader
// fails or stores nothing, the first follower to wake finds no flight and leads the next one.

export class Flight {
  readonly done: Promise<void>;
  #settle: () => void = () => undefined;
  constructor() {
    this.done = new Promise((resolve) => (this.#settle = resolve));
  }
  settle(): void {
    this.#settle();
  }
}

export class Flights {
  readonly #inFlight = new Map<string, Flight>();

  get size(): number {
    return this.#inFlight.size;
  }

  /** The flight under way for `key`, if any. */
  get(key: string): Flight | undefined {
    return this.#inFlight.get(key);
  }

  /** Starts leading `key`; null when someone already does. Checking and taking is one synchronous step. */
  lead(key: string): Flight | null {
    if (this.#inFlight.has(key)) return null;
    const flight = new Flight();
    this.#inFlight.set(key, flight);
    return flight;
  }

  /** Ends `flight` (its leader is done, stored or not) and wakes its followers. */
  land(key: string, flight: Flight): void {
    if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
    flight.settle();
  }
}

/** Resolves when `flight` lands or `ms` pass, whichever is first; true when it landed. */
export function waitFor(flight: Flight, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(false);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    flight.done.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
