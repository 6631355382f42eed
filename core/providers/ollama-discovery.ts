// Ollama discovery: serve every model that a reachable Ollama server reports, routed only to servers that have it.
//
// Each poll reads `/api/tags` (installed models) and `/api/ps` (models loaded in memory) from every discovery
// server and rebuilds the discovered model groups. A server where the model is already loaded gets `order: 1`,
// the others `order: 2`, so the priority tiers send requests to a warm server whenever one is available and
// nobody waits for a cold load that a warm server could have avoided. Deployment ids are stable across polls
// (`<server id>/<model>`), so router state (health, latency, in-flight) carries over.

import { Agent } from '../proxy/undici.ts';
import type { Logger } from '../logger.ts';
import { upstreamConnectOptions } from '../config/tls-files.ts';
import type { Deployment, ModelGroup } from '../config/models.ts';

interface TagsReply {
  models?: { name?: unknown }[];
}

export class OllamaDiscovery {
  readonly #servers: readonly Deployment[];
  readonly #groups: Map<string, ModelGroup>;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #agent = new Agent({ keepAliveTimeout: 60_000 });
  /** Servers with their own CA (or ssl_verify: false) are polled with those TLS settings. */
  readonly #tlsAgents = new Map<string, Agent>();
  /** Names this instance added to the group map; configured groups are never touched. */
  readonly #owned = new Set<string>();
  /** Last successful report per server id: installed and loaded model names. */
  readonly #reports = new Map<string, { installed: string[]; loaded: Set<string> }>();
  /** Per server: whether the last poll failed, so a dead server is logged once, not every poll. */
  readonly #failing = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  /** `groups` is the gateway's live map: discovered groups are added to and removed from it. */
  constructor(servers: readonly Deployment[], groups: Map<string, ModelGroup>, logger: Logger, intervalMs = 10_000, timeoutMs = 3_000) {
    this.#servers = servers;
    this.#groups = groups;
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
  }

  /** Polls once (so discovered models are servable when the gateway starts listening), then on an interval. */
  async start(): Promise<void> {
    await this.poll();
    if (this.#closed) return;
    this.#timer = setInterval(() => void this.poll(), this.#intervalMs);
    this.#timer.unref();
  }

  async poll(): Promise<void> {
    await Promise.all(this.#servers.map((server) => this.#pollServer(server)));
    if (!this.#closed) this.#rebuild();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await Promise.all([this.#agent, ...this.#tlsAgents.values()].map((agent) => agent.close()));
  }

  async #pollServer(server: Deployment): Promise<void> {
    try {
      const [tags, ps] = await Promise.all([this.#get(server, '/api/tags'), this.#get(server, '/api/ps')]);
      this.#reports.set(server.id, { installed: names(tags), loaded: new Set(names(ps)) });
      if (this.#failing.delete(server.id)) this.#logger.info('ollama discovery: server is back', { server: server.apiBase });
    } catch (error) {
      // A server that cannot answer serves nothing until it can.
      this.#reports.delete(server.id);
      if (!this.#failing.has(server.id)) {
        this.#failing.add(server.id);
        this.#logger.warn('ollama discovery: server unreachable', { server: server.apiBase, error: (error as Error).message });
      }
    }
  }

  async #get(server: Deployment, path: string): Promise<TagsReply> {
    const headers: Record<string, string> = server.apiKey === null ? {} : { authorization: `Bearer ${server.apiKey}` };
    const res = await this.#agentFor(server).request({ origin: server.origin, path, method: 'GET', headers, signal: AbortSignal.timeout(this.#timeoutMs) });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`GET ${path}: status ${res.statusCode}`);
    }
    return (await res.body.json()) as TagsReply;
  }

  #agentFor(server: Deployment): Agent {
    const tls = server.upstreamTls;
    if (tls === null) return this.#agent;
    let agent = this.#tlsAgents.get(tls.poolKey);
    if (agent === undefined) this.#tlsAgents.set(tls.poolKey, (agent = new Agent({ keepAliveTimeout: 60_000, connect: upstreamConnectOptions(tls) })));
    return agent;
  }

  #rebuild(): void {
    const byModel = new Map<string, Deployment[]>();
    for (const server of this.#servers) {
      const report = this.#reports.get(server.id);
      if (report === undefined) continue;
      for (const full of report.installed) {
        const name = full.endsWith(':latest') ? full.slice(0, -':latest'.length) : full;
        let list = byModel.get(name);
        if (list === undefined) byModel.set(name, (list = []));
        list.push({
          ...server,
          id: `${server.id}/${name}`,
          group: name,
          upstreamModel: full,
          order: report.loaded.has(full) ? 1 : 2,
          publicParams: { ...server.publicParams, model: `${server.provider}/${full}` },
        });
      }
    }
    for (const name of this.#owned) {
      if (!byModel.has(name)) {
        this.#groups.delete(name);
        this.#owned.delete(name);
      }
    }
    for (const [name, deployments] of byModel) {
      // A group written in model_list wins over a discovered one of the same name.
      if (this.#groups.has(name) && !this.#owned.has(name)) continue;
      this.#groups.set(name, { name, deployments });
      this.#owned.add(name);
    }
  }
}

function names(reply: TagsReply): string[] {
  const out: string[] = [];
  for (const model of reply.models ?? []) if (typeof model.name === 'string') out.push(model.name);
  return out;
}
