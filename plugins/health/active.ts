// health.active: probes every deployment on an interval and records the verdict in the shared router state.
//
// Routing already skips deployments the state marks unhealthy, so this plugin has no request hooks: it only
// runs timers. Each deployment has its own probe loop; a probe never overlaps the previous one of the same
// deployment, and a slow or dead backend never delays the probes of the others.

import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { definePlugin, errorCode, healthProbe, upstreamConnectOptions, type Deployment, type Logger, type Plugin, type RouterState } from '../../core/plugin/api.ts';

// Probes go through node:http, which the gateway has loaded anyway, not undici: a config whose backends are all
// plain HTTP then never loads undici (about 3 MB of idle RSS with its parser and sockets). getBuiltinModule,
// because an ES import of node:http reads its lazy `WebSocket` getter, which loads Node's own bundled undici.
const http = process.getBuiltinModule('node:http');

export interface HealthActiveOptions {
  /** Seconds between the starts of two probes of one deployment. Default: LiteLLM's `health_check_interval`, else 10. */
  interval?: number;
  /** Seconds a probe may take, connect to last body byte. Default: LiteLLM's `health_check_timeout`, else 2. */
  timeout?: number;
  /** Consecutive good probes that bring an unhealthy deployment back. Default 2. */
  rise?: number;
  /** Consecutive failed probes that take a healthy deployment out. Default 2. */
  fall?: number;
  /** One probe path for every deployment (e.g. `/health`), instead of the provider's default. */
  path?: string;
  /** Fraction of `interval` by which each wait is randomly lengthened or shortened. Default 0.1. */
  jitter?: number;
}

/**
 * The probe interval and timeout, in seconds: the plugin's options, else LiteLLM's `health_check_interval` /
 * `health_check_timeout` (router_settings, then litellm_settings, then general_settings), else 10 and 2.
 */
export function probeTiming(options: HealthActiveOptions, sections: Readonly<Record<string, unknown>>): { interval: number; timeout: number } {
  const fromLiteLLM = (key: string): number | undefined => {
    for (const section of ['router_settings', 'litellm_settings', 'general_settings']) {
      const value = (sections[section] as Record<string, unknown> | null | undefined)?.[key];
      if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
    }
    return undefined;
  };
  return {
    interval: options.interval ?? fromLiteLLM('health_check_interval') ?? 10,
    timeout: options.timeout ?? fromLiteLLM('health_check_timeout') ?? 2,
  };
}

/** Bodies larger than this are not read to the end: the connection is closed instead. */
const DRAIN_LIMIT = 1024 * 1024;

/** One deployment's probe loop: its rise/fall counters and what is pending. */
interface Target {
  /** The latest object for this id (discovery rebuilds deployments with the same ids). */
  deployment: Deployment;
  /** The verdict this plugin last recorded. */
  healthy: boolean;
  /** Consecutive good probes (reset by a failure). */
  successes: number;
  /** Consecutive failed probes (reset by a success). */
  failures: number;
  timer: NodeJS.Timeout | null;
  /** The probe in flight, if any. */
  controller: AbortController | null;
  running: Promise<void> | null;
  /** Set when the deployment left the model groups: its loop ends and records nothing more. */
  gone: boolean;
}

/**
 * Active health checks. Every non-mock deployment is probed with a GET, by provider: `ollama/` and
 * `ollama_chat/` at `/api/tags`, `hosted_vllm/` and `vllm/` at `/health`, anything else at `{api_base}/models`
 * (or at `path` for all). Any 2xx within `timeout` passes. A deployment goes unhealthy after `fall` failed
 * probes in a row and comes back after `rise` good ones; routing skips it meanwhile. Without `interval` /
 * `timeout`, LiteLLM's `router_settings.health_check_interval` / `health_check_timeout` apply (seconds).
 *
 * ```yaml
 * plugins:
 *   - route.round_robin
 *   - name: health.active
 *     options: { interval: 10, timeout: 2, rise: 2, fall: 2 }
 * ```
 */
export default definePlugin<HealthActiveOptions>({
  id: 'health.active',
  description: 'Probes every deployment on an interval and takes failing ones out of rotation.',
  // LiteLLM's health_check_interval / health_check_timeout are the defaults of interval / timeout.
  sections: ['router_settings', 'litellm_settings', 'general_settings'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      // No schema defaults: an absent interval / timeout falls back to the LiteLLM settings (see probeTiming).
      interval: { type: 'number', minimum: 0.05 },
      timeout: { type: 'number', minimum: 0.01 },
      rise: { type: 'integer', minimum: 1, default: 2 },
      fall: { type: 'integer', minimum: 1, default: 2 },
      path: { type: 'string', pattern: '^/[^\\s?#]*$' },
      jitter: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
    },
  },

  create(options, deps): Plugin {
    // Defaults again here: a factory may be created directly, without the loader's validation.
    const timing = probeTiming(options, deps.sections);
    const intervalMs = timing.interval * 1000;
    const timeoutSec = timing.timeout;
    const timeoutMs = timeoutSec * 1000;
    const rise = options.rise ?? 2;
    const fall = options.fall ?? 2;
    const jitter = options.jitter ?? 0.1;
    const state: RouterState = deps.state;
    const logger: Logger = deps.logger;

    const targets = new Map<string, Target>();
    let closed = false;
    // Its own connections, kept warm across probes. A socket idle for keepAliveMs is closed; one the server closed
    // while idle leaves the agent's free list when its close is read.
    const keepAliveMs = Math.min(60_000, Math.max(4_000, intervalMs * 2));
    const agentOptions = { keepAlive: true, timeout: keepAliveMs, scheduling: 'lifo' as const };
    const plainAgent: HttpAgent = new http.Agent(agentOptions);
    // https:// backends: one agent per TLS setting (a backend with its own CA, or ssl_verify: false, is probed with
    // the settings its traffic uses). node:https (and with it node:tls) loads with the first one.
    const tlsAgents = new Map<string, HttpsAgent>();
    const agentFor = (deployment: Deployment, url: URL): HttpAgent => {
      if (url.protocol === 'http:') return plainAgent;
      const tls = deployment.upstreamTls;
      const key = tls === null ? '' : tls.poolKey;
      let found = tlsAgents.get(key);
      if (found === undefined) {
        const https = process.getBuiltinModule('node:https');
        tlsAgents.set(key, (found = new https.Agent({ ...agentOptions, ...upstreamConnectOptions(tls) })));
      }
      return found;
    };

    /**
     * Brings the targets in line with `deps.groups`: the map is live (Ollama discovery adds and removes groups
     * after the plugins are created), so it is read again every interval. Starts the loop of a new deployment.
     */
    const sync = (): void => {
      const seen = new Set<string>();
      for (const group of deps.groups.values()) {
        for (const deployment of group.deployments) {
          if (deployment.kind === 'mock' || seen.has(deployment.id)) continue;
          seen.add(deployment.id);
          const known = targets.get(deployment.id);
          if (known !== undefined) {
            known.deployment = deployment;
            continue;
          }
          const target: Target = {
            deployment,
            // Start from what the state says, so a reload does not undo a verdict reached by the previous load
            // (with shared router state, another replica's verdict counts too; this replica's own probes decide
            // from then on).
            healthy: state.health(deployment.id).healthy,
            successes: 0,
            failures: 0,
            timer: null,
            controller: null,
            running: null,
            gone: false,
          };
          targets.set(deployment.id, target);
          start(target);
        }
      }
      for (const [id, target] of targets) {
        if (seen.has(id)) continue;
        targets.delete(id);
        stop(target);
      }
    };

    const stop = (target: Target): void => {
      target.gone = true;
      if (target.timer !== null) clearTimeout(target.timer);
      target.timer = null;
      target.controller?.abort();
    };

    const nextDelay = (elapsedMs: number): number => {
      const spread = jitter === 0 ? 1 : 1 + jitter * (2 * Math.random() - 1);
      return Math.max(0, intervalMs * spread - elapsedMs);
    };

    const schedule = (target: Target, delayMs: number): void => {
      if (closed || target.gone) return;
      target.timer = setTimeout(() => {
        target.timer = null;
        start(target);
      }, delayMs);
    };

    const start = (target: Target): void => {
      if (closed || target.gone || target.running !== null) return;
      const begun = Date.now();
      target.running = probe(target).then((error) => {
        target.running = null;
        if (closed || target.gone) return;
        try {
          record(target, error);
        } catch (failure) {
          // A shared state that fails to write must not end the probe loop.
          logger.error('health: recording a probe result failed', { deployment: target.deployment.id, error: describe(failure) });
        }
        schedule(target, nextDelay(Date.now() - begun));
      });
    };

    /** One GET; resolves to null when it passed, else the failure text. Never rejects. */
    const probe = async (target: Target): Promise<string | null> => {
      const controller = new AbortController();
      target.controller = controller;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      const { origin, apiKey } = target.deployment;
      // The provider's probe (its path and credentials header), unless the options name a path.
      const probe = healthProbe(target.deployment);
      const path = options.path ?? probe.path;
      const headers = probe.headers;
      const what = `probe GET ${path}`;
      try {
        const url = new URL(origin);
        const status = await getStatus(url, agentFor(target.deployment, url), path, headers, controller.signal);
        if (status < 200 || status > 299) return `${what}: status ${status}`;
        return null;
      } catch (error) {
        if (timedOut) return `${what}: timed out after ${timeoutSec} s`;
        if (closed || target.gone) return `${what}: aborted`;
        return `${what}: ${scrub(describe(error), apiKey)}`;
      } finally {
        clearTimeout(timer);
        target.controller = null;
      }
    };

    const record = (target: Target, error: string | null): void => {
      const id = target.deployment.id;
      if (error === null) {
        target.failures = 0;
        target.successes++;
        if (!target.healthy && target.successes >= rise) {
          target.healthy = true;
          logger.info('health: deployment is healthy again', { deployment: id, group: target.deployment.group });
        }
      } else {
        target.successes = 0;
        target.failures++;
        if (target.healthy && target.failures >= fall) {
          target.healthy = false;
          logger.warn('health: deployment is unhealthy', { deployment: id, group: target.deployment.group, error });
        } else {
          logger.debug('health: probe failed', { deployment: id, error, failures: target.failures });
        }
      }
      state.setHealthy(id, target.healthy, error, Date.now());
    };

    // The first round starts now (create() does not wait for it); later deployments join at the next sync.
    sync();
    let syncTimer: NodeJS.Timeout | null = setInterval(sync, intervalMs);

    return {
      async close(): Promise<void> {
        if (closed) return;
        closed = true;
        if (syncTimer !== null) clearInterval(syncTimer);
        syncTimer = null;
        const pending: Promise<void>[] = [];
        for (const target of targets.values()) {
          stop(target);
          if (target.running !== null) pending.push(target.running);
        }
        targets.clear();
        await Promise.all(pending);
        for (const agent of [plainAgent, ...tlsAgents.values()]) agent.destroy();
      },
    };
  },
});

/**
 * One GET: resolves to the status once the body is read (at most DRAIN_LIMIT bytes of it: past that the connection
 * is dropped instead), rejects on a transport error or when `signal` aborts.
 */
function getStatus(url: URL, agent: HttpAgent, path: string, headers: Record<string, string>, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'http:' ? http : process.getBuiltinModule('node:https');
    const request = transport.request(
      // URL keeps an IPv6 host in brackets; node:http wants it bare.
      { hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port, path, method: 'GET', headers, agent, signal },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > DRAIN_LIMIT) {
            res.destroy();
            resolve(status);
          }
        });
        res.on('end', () => resolve(status));
        res.on('error', reject);
        // Closed before its end without an error (the backend or the abort cut it): a failed probe.
        res.on('close', () => {
          if (!res.complete && read <= DRAIN_LIMIT) reject(signal.aborted ? signal.reason : new Error('the backend closed the connection mid-body'));
        });
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** A transport error's code (looking inside AggregateError and `cause`), else its first line. */
function describe(error: unknown): string {
  const code = errorCode(error);
  if (code !== '') return code;
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n')[0] ?? '';
  return line === '' ? 'unknown error' : line.slice(0, 200);
}

/** Failure text is shown on /health: make sure no credential slips into it. */
function scrub(text: string, apiKey: string | null): string {
  return apiKey === null || apiKey === '' ? text : text.split(apiKey).join('***');
}
