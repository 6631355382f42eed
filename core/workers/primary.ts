// The primary process of `server.workers: N` (as nginx's master): it serves no requests itself. It starts N
// workers that share the one listening port (node:cluster hands them the connections), owns the memory store that
// makes their limits exact (state/ipc-store.ts), restarts a worker that dies (with a back-off when one crashes in a
// loop) and turns signals into actions for all of them: SIGHUP reloads every worker, SIGTERM/SIGINT stop them
// gracefully and then itself.

import cluster, { type Worker } from 'node:cluster';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.ts';
import type { Logger } from '../logger.ts';
import { redisFromRouterSettings } from '../config/router-settings.ts';
import { watchConfig } from '../reload.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { serveStore, type IpcEnd, type ServedStore } from '../state/ipc-store.ts';
import { isMessage, type GatherRequest, type ListeningReport, type PeerAnswer, type PeerRequest, type ReloadReport, type ReloadRequest } from './messages.ts';

/** The environment variable that tells a worker its number (1..N), for its log lines. */
export const WORKER_INDEX_ENV = 'SLUICE_WORKER';

/** Restart back-off: a worker that dies within QUICK_EXIT_MS of starting counts as crashing in a loop. */
const QUICK_EXIT_MS = 10_000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 30_000;
/** How long a gather waits for a worker that does not answer (a worker stuck in a long computation). */
const GATHER_TIMEOUT_MS = 5_000;

export interface PrimaryOptions {
  readonly config: LoadedConfig;
  readonly logger: Logger;
  readonly workers: number;
  /** `--watch`: reload when the config file changes. */
  readonly watch: boolean;
}

/** One worker slot: its number stays while the processes in it are replaced. */
interface Slot {
  readonly index: number;
  worker: Worker | null;
  startedAt: number;
  /** Quick exits in a row, for the back-off. */
  crashes: number;
  listening: boolean;
  restartTimer: NodeJS.Timeout | null;
  /** The store as this worker sees it through the primary; null with Redis. */
  served: ServedStore | null;
}

/** Starts the workers and runs until a stop signal; resolves with the process's exit code. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { config, logger } = options;
  // With Redis, the workers share limits through it as replicas do; without, through this process's memory.
  const usesRedis = (config.sections['redis'] ?? null) !== null || redisFromRouterSettings(config.routerSettings).config !== null;
  const store = usesRedis ? null : new MemoryStore();
  const slots: Slot[] = Array.from({ length: options.workers }, (_, i) => ({ index: i + 1, worker: null, startedAt: 0, crashes: 0, listening: false, restartTimer: null, served: null }));
  const bySlot = new Map<Worker, Slot>();
  let stopping = false;
  let started = false;
  let exitCode = 0;
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => (resolveExit = resolve));

  // ---- workers ----

  const fork = (slot: Slot): void => {
    slot.restartTimer = null;
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(slot.index) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.listening = false;
    bySlot.set(worker, slot);
    const end = workerEnd(worker);
    slot.served = store === null ? null : serveStore(store, end);
    worker.on('message', (message: unknown) => onWorkerMessage(slot, worker, message));
    // A send to a worker that is going away fails asynchronously, as an 'error' on it; its exit is handled below.
    worker.on('error', (error: Error) => logger.debug(`worker ${slot.index}: ${error.message}`));
    logger.info(`worker ${slot.index} started`, { pid: worker.process.pid });
  };

  cluster.on('exit', (worker, code, signal) => {
    const slot = bySlot.get(worker);
    if (slot === undefined) return;
    bySlot.delete(worker);
    slot.worker = null;
    dropPeerRequestsOf(worker);
    // Its requests died with it: the concurrency slots they held are free now, not at their lease TTL.
    if (slot.served !== null) {
      const served = slot.served;
      slot.served = null;
      served.stop();
      void served.releaseHeldLeases();
    }
    const how = signal !== null ? { pid: worker.process.pid, signal } : { pid: worker.process.pid, code };
    if (stopping) {
      logger.info(`worker ${slot.index} stopped`, how);
      if (slots.every((s) => s.worker === null)) void finish();
      return;
    }
    if (!started) {
      // A worker that cannot start (a port in use, a plugin that fails) would fail the same way again.
      logger.error(`worker ${slot.index} exited before it was listening; stopping`, how);
      stopAll(1);
      return;
    }
    const ranMs = Date.now() - slot.startedAt;
    slot.crashes = quickExits(ranMs, slot.crashes);
    const delay = restartDelay(slot.crashes);
    logger.error(`worker ${slot.index} exited unexpectedly; restarting it${delay === 0 ? '' : ` in ${delay} ms`}`, { ...how, ran_s: Math.round(ranMs / 100) / 10, quick_exits: slot.crashes });
    slot.restartTimer = setTimeout(() => fork(slot), delay);
  });

  const onWorkerMessage = (slot: Slot, worker: Worker, message: unknown): void => {
    if (isMessage<ListeningReport>(message, 'listening')) {
      slot.listening = true;
      if (started) {
        logger.info(`worker ${slot.index} listening`, { pid: worker.process.pid });
      } else if (slots.every((s) => s.listening)) {
        started = true;
        logger.info(`sluice primary: ${slots.length} workers listening on ${message.url}`, { pid: process.pid, shared_store: store === null ? 'redis' : 'primary memory' });
      }
    } else if (isMessage<ReloadReport>(message, 'reloaded')) {
      onReloaded(slot, message);
    } else if (isMessage<GatherRequest>(message, 'gather')) {
      void gather(message.topic).then((values) => send(worker, { sluice: 'gathered', id: message.id, values }));
    } else if (isMessage<PeerAnswer>(message, 'peer-answer')) {
      peerRequests.get(message.id)?.resolve(message.value);
    }
  };

  // ---- gather: one value per worker for a topic (metrics from every worker for one scrape) ----

  let nextPeerRequest = 0;
  const peerRequests = new Map<number, { worker: Worker; resolve: (value: unknown) => void }>();
  const dropPeerRequestsOf = (worker: Worker): void => {
    for (const request of peerRequests.values()) if (request.worker === worker) request.resolve(undefined);
  };
  const gather = async (topic: string): Promise<unknown[]> => {
    const asked = [...bySlot.keys()].filter((w) => w.isConnected()).map(
      (worker) =>
        new Promise<unknown>((resolve) => {
          const id = nextPeerRequest++;
          const timer = setTimeout(() => done(undefined), GATHER_TIMEOUT_MS);
          const done = (value: unknown): void => {
            clearTimeout(timer);
            peerRequests.delete(id);
            resolve(value);
          };
          peerRequests.set(id, { worker, resolve: done });
          send(worker, { sluice: 'peer-request', id, topic } satisfies PeerRequest);
        }),
    );
    // A worker that died or did not answer is left out: the others' values are still worth reporting.
    return (await Promise.all(asked)).filter((value) => value !== undefined && value !== null);
  };

  // ---- reload ----

  /** How long the primary waits for every worker to report a reload. */
  const RELOAD_ANSWER_MS = 120_000;
  let nextReload = 0;
  let reloading: { id: number; reason: string; waiting: Set<Slot>; refusedBy: number[] } | null = null;
  let reloads: Promise<void> = Promise.resolve();
  const onReloaded = (slot: Slot, report: ReloadReport): void => {
    if (reloading === null || report.id !== reloading.id) return;
    if (!report.ok) reloading.refusedBy.push(slot.index);
    reloading.waiting.delete(slot);
    if (reloading.waiting.size === 0) finishReload();
  };
  let finishReload: () => void = () => {};
  const reload = (reason: string): Promise<void> =>
    new Promise<void>((resolve) => {
      // The file is checked here first, so a broken config is refused by all workers at once, none half-way.
      try {
        // Its warnings are the workers' to log, with their reload.
        loadConfig(config.file);
      } catch (error) {
        const errors = error instanceof ConfigError ? error.errors : [(error as Error).message];
        logger.error(`${reason}: config refused, the running config keeps serving in every worker`, { file: config.file, errors: errors.length });
        for (const line of errors) logger.error(`${reason}: ${line}`);
        resolve();
        return;
      }
      const waiting = new Set(slots.filter((s) => s.worker !== null && s.listening));
      const asked = waiting.size;
      const id = nextReload++;
      reloading = { id, reason, waiting, refusedBy: [] };
      // A worker whose reload never settles (a plugin that hangs) must not hold every later reload back.
      const answerGuard = setTimeout(() => {
        if (reloading?.id !== id) return;
        logger.error(`${reason}: worker ${[...waiting].map((s) => s.index).join(', ')} did not answer the reload in ${RELOAD_ANSWER_MS / 1000} s; not waiting for it`);
        waiting.clear();
        finishReload();
      }, RELOAD_ANSWER_MS);
      answerGuard.unref();
      finishReload = () => {
        clearTimeout(answerGuard);
        const done = reloading!;
        reloading = null;
        const refused = done.refusedBy.sort((a, b) => a - b);
        if (refused.length === 0) logger.info(`${reason}: config reloaded in every worker`, { workers: slots.length });
        else if (refused.length === asked) logger.error(`${reason}: config refused by every worker (see their lines), the running config keeps serving`, { workers: slots.length });
        // Only a file changed again between the workers' reads, or a plugin failing in one worker alone, gets here.
        else logger.error(`${reason}: config refused by worker ${refused.join(', ')} (see its lines), the others reloaded it`, { workers: slots.length });
        resolve();
      };
      for (const slot of waiting) send(slot.worker!, { sluice: 'reload', id, reason } satisfies ReloadRequest);
      if (waiting.size === 0) finishReload();
    });
  const reloadFor = (reason: string): void => {
    if (stopping) return;
    if (!started) {
      logger.warn(`${reason}: nothing reloaded: the workers are still starting`);
      return;
    }
    // One reload at a time, as in a single process.
    reloads = reloads.then(() => reload(reason));
  };
  // A worker that was not listening when the reload began (being restarted) reads the file when it starts.
  cluster.on('exit', () => {
    if (reloading === null) return;
    for (const slot of reloading.waiting) if (slot.worker === null) reloading.waiting.delete(slot);
    if (reloading.waiting.size === 0) finishReload();
  });

  // ---- stop ----

  const finish = async (): Promise<void> => {
    await store?.close();
    stopWatching?.();
    resolveExit(exitCode);
  };
  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const slot of slots) if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
    const running = slots.filter((s) => s.worker !== null);
    if (running.length === 0) {
      void finish();
      return;
    }
    // Each worker lets its requests finish for server.timeouts.shutdown, then cuts them; a worker still there
    // well after that is killed.
    const grace = config.server.timeouts.shutdown;
    if (grace > 0) setTimeout(() => {
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
    }, grace + 10_000).unref();
    for (const slot of running) slot.worker!.process.kill('SIGTERM');
  };
  const stop = (signal: string): void => {
    if (stopping) return;
    logger.info(`${signal}: shutting down the workers, waiting for requests in flight`, { up_to_s: config.server.timeouts.shutdown / 1000 });
    stopAll(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => reloadFor('SIGHUP'));
  const stopWatching = options.watch ? watchConfig(config.file, () => reloadFor('config file changed')) : null;

  // Structured clone rather than JSON: store arguments and answers arrive as they were sent (Infinity, undefined).
  cluster.setupPrimary({ serialization: 'advanced' });
  for (const slot of slots) fork(slot);
  return exit;
}

/** Quick exits in a row after a worker ran `ranMs`: one more if it died young, else none. */
export function quickExits(ranMs: number, before: number): number {
  return ranMs < QUICK_EXIT_MS ? before + 1 : 0;
}

/** How long to wait before restarting after `quickExitsInARow`: none after a long run, then 100 ms doubling to 30 s. */
export function restartDelay(quickExitsInARow: number): number {
  return quickExitsInARow === 0 ? 0 : Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (quickExitsInARow - 1));
}

function send(worker: Worker, message: ReloadRequest | PeerRequest | { sluice: 'gathered'; id: number; values: unknown[] }): void {
  try {
    if (worker.isConnected()) worker.send(message);
  } catch {
    // The worker is exiting; its exit is handled on 'exit'.
  }
}

/** The primary's end of a worker's channel, for the store server. */
function workerEnd(worker: Worker): IpcEnd {
  return {
    send: (message) => worker.send(message),
    on: (event: 'message' | 'disconnect', listener: (message: unknown) => void) => worker.on(event, listener),
    off: (event: 'message' | 'disconnect', listener: (message: unknown) => void) => worker.off(event, listener),
  };
}
