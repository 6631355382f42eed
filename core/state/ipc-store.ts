// The shared store of worker processes (`server.workers`): each worker's calls go over the IPC channel to the
// primary process, which answers them from its one MemoryStore. One store, one event loop answering in turn: every
// check-and-update stays one atomic step across all workers, so limits are as exact as in a single process.
//
// Forwarding is table-driven: FORWARDED_METHODS names every SharedStore method that goes to the primary, and a
// method added to SharedStore fails the typecheck here until its name is added to the table (one line).
//
// Calls made together travel as one message, and their answers come back as one. With no call awaiting an answer
// (a quiet gateway), a batch goes at the end of the current microtask queue, for the least latency. With calls in
// flight (a busy one), it waits for setImmediate, once the turn's I/O callbacks have run, so the calls of every
// request that made progress in that turn share one message: a message costs both processes a wake-up and a syscall.
// A worker whose channel closes gets every pending call rejected (never left hanging), and every later call too.

import type { LimitCheck, LimitChecks, SharedStore, StoreHealth } from './store.ts';

/** SharedStore's async methods on shared state: those a worker forwards (not its own lifecycle: close, health). */
type StateMethod = Exclude<
  { [K in keyof SharedStore]-?: NonNullable<SharedStore[K]> extends (...args: never[]) => Promise<unknown> ? K : never }[keyof SharedStore],
  'close' | 'checkHealth' | 'connected'
>;

/** The methods answered by the primary's store. A new SharedStore method: add its name here. */
export const FORWARDED_METHODS = [
  'gcra',
  'windowCheck',
  'windowAdd',
  'acquireLease',
  'releaseLease',
  'checkLimits',
  'counterAdd',
  'counterGet',
  'exchangeEntry',
  'withdrawEntry',
] as const satisfies readonly StateMethod[];

export type ForwardedMethod = (typeof FORWARDED_METHODS)[number];

// A SharedStore method missing from the table is a type error here that names it.
const everyMethodForwarded: [Exclude<StateMethod, ForwardedMethod>] extends [never] ? true : Exclude<StateMethod, ForwardedMethod> = true;
void everyMethodForwarded;

const FORWARDED = new Set<string>(FORWARDED_METHODS);

/** One call: [id, method, arguments]. */
type Call = [number, ForwardedMethod, unknown[]];
/** One answer: [id, 1, value] or [id, 0, [error name, message]]. Both sides must survive the channel's serialization. */
type Answer = [number, 1, unknown] | [number, 0, [string, string]];

/** The store's messages on the channel; `sluice: 'store'` tells them apart from the channel's other messages. */
export type StoreMessage = { readonly sluice: 'store'; readonly calls: readonly Call[] } | { readonly sluice: 'store'; readonly answers: readonly Answer[] };

/** One end of an IPC channel: a process's own (`process`), or the primary's view of a child or cluster worker. */
export interface IpcEnd {
  /** Sends one message; throws or returns false when the channel is closed. */
  send(message: StoreMessage): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

/** The channel of this process to its parent (a cluster worker's to the primary). Throws when there is none. */
export function parentEnd(): IpcEnd {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('this process has no IPC channel to a parent');
  return {
    send: (message) => {
      // A send on a closed channel would fail later, as an 'error' on the process.
      if (!process.connected) throw new Error('the channel to the parent process is closed');
      return send(message);
    },
    on: (event: 'message' | 'disconnect', listener: (message: unknown) => void) => process.on(event, listener),
    off: (event: 'message' | 'disconnect', listener: (message: unknown) => void) => process.off(event, listener),
  };
}

function isStoreMessage(message: unknown): message is StoreMessage {
  return typeof message === 'object' && message !== null && (message as { sluice?: unknown }).sluice === 'store';
}

/** A worker's store: every state method forwarded to the primary's (see `serveStore`). */
export interface IpcStore extends Pick<SharedStore, ForwardedMethod> {}

export class IpcStore implements SharedStore {
  /** Not `memory`: the state behind it is shared by every worker, as Redis's is by replicas. */
  readonly kind = 'primary' as const;
  readonly #end: IpcEnd;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  /** Calls of this turn, sent together at its end. */
  #batch: Call[] = [];
  #closed: Error | null = null;
  readonly #onMessage = (message: unknown): void => {
    if (!isStoreMessage(message) || !('answers' in message)) return;
    for (const answer of message.answers) {
      const waiting = this.#pending.get(answer[0]);
      if (waiting === undefined) continue;
      this.#pending.delete(answer[0]);
      if (answer[1] === 1) waiting.resolve(answer[2]);
      else waiting.reject(remoteError(answer[2]));
    }
  };
  readonly #onDisconnect = (): void => this.#fail(new Error('shared store: the channel to the primary process closed; limits cannot be checked'));

  constructor(end: IpcEnd) {
    this.#end = end;
    end.on('message', this.#onMessage);
    end.on('disconnect', this.#onDisconnect);
  }

  /** Queues one call for the end of this turn; the promise settles with the primary's answer. */
  call(method: ForwardedMethod, args: unknown[]): Promise<unknown> {
    if (this.#closed !== null) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    if (this.#batch.length === 0) {
      if (this.#pending.size === 0) queueMicrotask(this.#flush);
      else setImmediate(this.#flush);
    }
    this.#batch.push([id, method, args]);
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  readonly #flush = (): void => {
    const calls = this.#batch;
    this.#batch = [];
    if (this.#closed !== null) return;
    let sent: boolean;
    try {
      // `false` means queued behind a full pipe (still delivered); a closed channel throws or emits 'error'.
      sent = this.#end.send({ sluice: 'store', calls }) || true;
    } catch {
      sent = false;
    }
    if (!sent) this.#fail(new Error('shared store: could not reach the primary process; limits cannot be checked'));
  };

  #fail(error: Error): void {
    if (this.#closed === null) this.#closed = error;
    for (const waiting of this.#pending.values()) waiting.reject(this.#closed);
    this.#pending.clear();
  }

  /** Calls sent and not yet answered (for tests). */
  get pending(): number {
    return this.#pending.size;
  }

  health(): StoreHealth {
    return this.#closed === null ? 'ok' : 'down';
  }

  close(): Promise<void> {
    this.#end.off('message', this.#onMessage);
    this.#end.off('disconnect', this.#onDisconnect);
    this.#fail(new Error('shared store: closed'));
    return Promise.resolve();
  }
}

for (const method of FORWARDED_METHODS) {
  Object.defineProperty(IpcStore.prototype, method, {
    value: function forward(this: IpcStore, ...args: unknown[]): Promise<unknown> {
      return this.call(method, args);
    },
    writable: true,
    configurable: true,
  });
}

/** An error as thrown in the primary (a RangeError for a bad argument stays one). */
function remoteError([name, message]: [string, string]): Error {
  const error = name === 'RangeError' ? new RangeError(message) : name === 'TypeError' ? new TypeError(message) : new Error(message);
  return error;
}

/** The primary's side of one worker's channel. */
export interface ServedStore {
  /** Stops answering. */
  stop(): void;
  /**
   * Gives back every lease the worker still holds. Called when the worker is gone: unlike a crashed replica's, its
   * leases are known here, so its `max_parallel_requests` slots need not wait for their TTL.
   */
  releaseHeldLeases(): Promise<void>;
}

/**
 * The primary's side: answers the store calls that arrive on `end` from `store`, each batch with one message.
 * Calls naming a method outside FORWARDED_METHODS are refused.
 */
export function serveStore(store: SharedStore, end: IpcEnd): ServedStore {
  // key → lease ids this worker holds (taken and not yet given back).
  const held = new Map<string, Set<string>>();
  const hold = (key: string, id: string): void => {
    let ids = held.get(key);
    if (ids === undefined) held.set(key, (ids = new Set()));
    ids.add(id);
  };
  const noteLease = (method: string, args: readonly unknown[], value: unknown): void => {
    const [key, second, third] = args;
    if (method === 'checkLimits') {
      // A refused call gave its leases back already; an admitted one holds every lease it asked for.
      if ((value as LimitChecks).allowed !== true || !Array.isArray(key)) return;
      for (const check of key as LimitCheck[]) if ('lease' in check) hold(check.lease, check.leaseId);
      return;
    }
    if (typeof key !== 'string') return;
    if (method === 'acquireLease' && typeof third === 'string' && (value as { allowed?: unknown } | null)?.allowed === true) {
      hold(key, third);
    } else if (method === 'releaseLease' && typeof second === 'string') {
      const ids = held.get(key);
      if (ids !== undefined && ids.delete(second) && ids.size === 0) held.delete(key);
    }
  };
  const onMessage = (message: unknown): void => {
    if (!isStoreMessage(message) || !('calls' in message)) return;
    const calls = message.calls;
    const answers: Answer[] = new Array(calls.length);
    let left = calls.length;
    const settle = (index: number, answer: Answer): void => {
      answers[index] = answer;
      if (--left > 0) return;
      try {
        end.send({ sluice: 'store', answers });
      } catch {
        // The worker is gone; its calls went with it.
      }
    };
    calls.forEach(([id, method, args], index) => {
      if (!FORWARDED.has(method) || !Array.isArray(args)) {
        settle(index, [id, 0, ['Error', `shared store: no method ${String(method)}`]]);
        return;
      }
      let result: Promise<unknown>;
      try {
        result = (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(
        (value) => {
          if (method === 'acquireLease' || method === 'releaseLease' || method === 'checkLimits') noteLease(method, args, value);
          settle(index, [id, 1, value]);
        },
        (error: unknown) => settle(index, [id, 0, [(error as Error)?.name ?? 'Error', (error as Error)?.message ?? String(error)]]),
      );
    });
  };
  end.on('message', onMessage);
  return {
    stop: () => end.off('message', onMessage),
    releaseHeldLeases: async () => {
      const leases = [...held].flatMap(([key, ids]) => [...ids].map((id) => [key, id] as const));
      held.clear();
      await Promise.all(leases.map(([key, id]) => store.releaseLease(key, id)));
    },
  };
}
