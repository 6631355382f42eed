// Hot reload (SIGHUP, --watch): the config file is read and validated again, a new generation is built on the
// App's long-lived parts and swapped in for new requests. Requests in flight finish on the generation they started
// on, which closes once they have. A config that fails anywhere is refused whole, and the running one keeps serving.

import { readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { App, Generation } from './app.ts';
import { ConfigError, loadConfig, type LoadedConfig, type ServerSettings } from './config/load.ts';
import type { Logger } from './logger.ts';
import type { Listening } from './server/listener.ts';

/**
 * The settings a running process cannot change: the listener's (address, TLS files, redirect, client timeouts,
 * shutdown grace), the logger, the upstream pools (their timeouts and connection cap) and the shared store's
 * connection. Each entry: the name as written in the config, and how to read it.
 */
const RESTART_ONLY: readonly (readonly [string, (server: ServerSettings) => unknown])[] = [
  ['server.host', (s) => s.host],
  ['server.port', (s) => s.port],
  ['server.tls', (s) => s.tls],
  ['server.redirect_http', (s) => s.redirectHttp],
  ['server.log_level', (s) => s.logLevel],
  ['server.log_format', (s) => s.logFormat],
  ['server.upstream_connections', (s) => s.upstreamConnections],
  ['server.workers', (s) => s.workers],
  ['server.timeouts.client_header', (s) => s.timeouts.clientHeader],
  ['server.timeouts.keep_alive', (s) => s.timeouts.keepAlive],
  ['server.timeouts.shutdown', (s) => s.timeouts.shutdown],
  ['server.timeouts.upstream_connect', (s) => s.timeouts.upstreamConnect],
  ['server.timeouts.upstream_first_byte', (s) => s.timeouts.upstreamFirstByte],
  ['server.timeouts.upstream_idle', (s) => s.timeouts.upstreamIdle],
  ['server.timeouts.upstream_total', (s) => s.timeouts.upstreamTotal],
];

/**
 * The settings that differ in `next` from the config the process started with, and so are not applied until the
 * next restart (config names). Compared with the start, not the last reload: an edit stays reported until applied.
 */
export function needsRestart(started: LoadedConfig, next: LoadedConfig): string[] {
  const changed = RESTART_ONLY.filter(([, read]) => !isDeepStrictEqual(read(started.server), read(next.server))).map(([name]) => name);
  if (!isDeepStrictEqual(started.sections['redis'] ?? null, next.sections['redis'] ?? null)) changed.push('redis');
  return changed;
}

/** What a reload changed, for the log: model groups and plugins by name. */
export interface ReloadChanges {
  readonly groupsAdded: readonly string[];
  readonly groupsRemoved: readonly string[];
  /** Groups on both sides whose deployments (by id) differ. */
  readonly groupsChanged: readonly string[];
  readonly pluginsAdded: readonly string[];
  readonly pluginsRemoved: readonly string[];
  /** Deployments on both sides (same id): their health, cooldowns, in-flight counts and latency carry over. */
  readonly deploymentsKept: number;
}

export function changesBetween(previous: Generation, next: Generation): ReloadChanges {
  const ids = (generation: Generation): Map<string, string> => {
    const byGroup = new Map<string, string>();
    for (const [name, group] of generation.groups) byGroup.set(name, group.deployments.map((d) => d.id).sort().join(','));
    return byGroup;
  };
  const before = ids(previous);
  const after = ids(next);
  const pluginsBefore = new Set(previous.chain.plugins.map((p) => p.id));
  const pluginsAfter = new Set(next.chain.plugins.map((p) => p.id));
  const deploymentsBefore = new Set([...previous.groups.values()].flatMap((g) => g.deployments.map((d) => d.id)));
  let deploymentsKept = 0;
  for (const group of next.groups.values()) for (const d of group.deployments) if (deploymentsBefore.has(d.id)) deploymentsKept++;
  return {
    groupsAdded: [...after.keys()].filter((name) => !before.has(name)),
    groupsRemoved: [...before.keys()].filter((name) => !after.has(name)),
    groupsChanged: [...after.keys()].filter((name) => before.has(name) && before.get(name) !== after.get(name)),
    pluginsAdded: [...pluginsAfter].filter((id) => !pluginsBefore.has(id)),
    pluginsRemoved: [...pluginsBefore].filter((id) => !pluginsAfter.has(id)),
    deploymentsKept,
  };
}

export type ReloadOutcome =
  | { readonly ok: true; readonly changes: ReloadChanges; readonly needsRestart: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Reloads the config file `started` was read from into `app`: validates it, builds the new generation and, with
 * `server.tls`, reads the certificate files again, then swaps both in. Logs the outcome; never throws. `reason`
 * names the trigger in the log (`SIGHUP`, `config file changed`).
 */
export async function reload(app: App, started: LoadedConfig, listening: Listening | null, logger: Logger, reason: string): Promise<ReloadOutcome> {
  const file = started.file;
  const refuse = (errors: readonly string[]): ReloadOutcome => {
    logger.error(`${reason}: config refused, the running config keeps serving`, { file, errors: errors.length });
    for (const error of errors) logger.error(`${reason}: ${error}`);
    return { ok: false, errors };
  };
  let config: LoadedConfig;
  let next: Generation;
  try {
    config = loadConfig(file);
    for (const warning of config.warnings) logger.warn(`config: ${warning}`);
    next = await app.load(config);
  } catch (error) {
    return refuse(error instanceof ConfigError ? error.errors : [(error as Error).message]);
  }
  // The certificate files are checked last, so a refused reload changes nothing, certificate included.
  if (listening !== null && listening.certificate !== null) {
    const tls = listening.reloadTls();
    if (!tls.ok) {
      void next.close();
      return refuse([`server.tls: ${tls.error}`]);
    }
    logger.info(`${reason}: reloaded TLS certificate`, { certificate: tls.certificate.subject, expires: tls.certificate.validTo, sha256: tls.certificate.fingerprint256 });
  }
  const previous = app.swap(next);
  const restart = needsRestart(started, config);
  const changes = previous === null ? changesBetween(next, next) : changesBetween(previous, next);
  const list = (names: readonly string[]): string => (names.length === 0 ? '-' : names.join(','));
  logger.info(`${reason}: config reloaded; new requests use it, requests in flight finish on the previous one`, {
    file,
    models: next.groups.size,
    models_added: list(changes.groupsAdded),
    models_removed: list(changes.groupsRemoved),
    models_changed: list(changes.groupsChanged),
    plugins_added: list(changes.pluginsAdded),
    plugins_removed: list(changes.pluginsRemoved),
    deployments_kept: changes.deploymentsKept,
    in_flight_on_previous: previous?.active ?? 0,
  });
  if (restart.length > 0) logger.warn(`${reason}: changed but needs a restart, not applied: ${restart.join(', ')}`);
  previous?.retire().then(
    () => logger.info(`${reason}: previous config closed (its last request ended)`),
    () => {},
  );
  return { ok: true, changes, needsRestart: restart };
}

/**
 * `--watch`: calls `onChange` once the config file has changed and then stayed unchanged for `debounceMs` (an
 * editor's save is often several writes, or a rename over the old file). The directory is watched, not the file,
 * so a file replaced by rename (editors, `kubectl` ConfigMap updates) is still seen. A write that leaves the text as
 * it was (a touch, a chmod) is no change. Returns a function that stops watching.
 */
export function watchConfig(file: string, onChange: () => void, debounceMs = 250): () => void {
  const name = basename(file);
  let lastText = readText(file);
  let timer: NodeJS.Timeout | null = null;
  const settled = (): void => {
    timer = null;
    const text = readText(file);
    // A file mid-replacement may be missing for a moment: the rename that completes it fires another event.
    if (text === null || text === lastText) return;
    lastText = text;
    onChange();
  };
  const watcher = watch(dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(settled, debounceMs);
  });
  return () => {
    if (timer !== null) clearTimeout(timer);
    watcher.close();
  };
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
