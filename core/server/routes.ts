// The route table: every path the gateway answers, in one place. Proxied routes (by provider), the gateway's own
// info routes and the routes plugins register. Built once per generation; a lookup is one Map get.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Endpoint } from '../config/models.ts';
import type { LoadedPlugin } from '../plugin/chain.ts';
import { SluiceError } from '../errors.ts';
import { applyCors, isPreflight } from '../http/cors.ts';
import type { LocalRoute, Pipeline } from '../proxy/pipeline.ts';
import { WIRE_FORMATS, type WireFormat } from '../providers/index.ts';
import { infoRoutes, MODEL_BY_ID_PREFIX, retrieveModelRoute, type InfoSources } from './info-routes.ts';
import type { PassThroughProxy } from './pass-through.ts';
import { clientApiRoutes } from './client-api-routes.ts';

type Method = 'GET' | 'POST';

interface ProxyRoute {
  readonly kind: 'proxy';
  readonly endpoint: Endpoint;
  readonly wire: WireFormat;
}

interface Local {
  readonly kind: 'local';
  readonly method: Method;
  readonly route: LocalRoute;
}

type Route = ProxyRoute | Local;

export class RouteTable {
  readonly #routes = new Map<string, Route[]>();
  /** `GET /v1/models/{id}`, matched by prefix. */
  readonly #modelById: readonly Route[];
  readonly #pipeline: Pipeline;
  /** LiteLLM's pass_through_endpoints: checked first, since a configured path is meant to take over. */
  readonly #passThrough: PassThroughProxy | null;

  /** Throws listing every clash between plugin routes and the others. */
  constructor(pipeline: Pipeline, plugins: readonly LoadedPlugin[], sources: InfoSources, passThrough: PassThroughProxy | null = null) {
    this.#pipeline = pipeline;
    this.#passThrough = passThrough;
    const clashes: string[] = [];
    // Plugins first: a plugin may take over a built-in GET path (a richer /health), never a proxied one.
    for (const { id, plugin } of plugins) {
      for (const route of plugin.routes ?? []) {
        if (this.#find(route.path, route.method) !== undefined) {
          clashes.push(`plugin "${id}" registers ${route.method} ${route.path} twice`);
          continue;
        }
        this.#add(route.path, {
          kind: 'local',
          method: route.method,
          route: {
            auth: route.auth ?? true,
            readsBody: route.method === 'POST',
            rawBody: route.body === 'raw',
            handle: (ctx) => route.handle(ctx),
          },
        });
      }
    }
    for (const wire of WIRE_FORMATS) {
      for (const [path, endpoint] of wire.routes) {
        if (this.#routes.has(path)) clashes.push(`a plugin route takes ${path}, which is proxied`);
        else this.#add(path, { kind: 'proxy', endpoint, wire });
      }
    }
    // One `created` for every model this generation lists, in the lists and one by one.
    const created = Math.floor(Date.now() / 1000);
    for (const [path, route] of infoRoutes(sources, created)) {
      if (this.#find(path, 'GET') === undefined) this.#add(path, { kind: 'local', method: 'GET', route });
    }
    for (const { method, path, route } of clientApiRoutes(sources)) {
      if (this.#find(path, method) === undefined) this.#add(path, { kind: 'local', method, route });
    }
    this.#modelById = [{ kind: 'local', method: 'GET', route: retrieveModelRoute(sources, created) }];
    if (clashes.length > 0) throw new Error(`routes: ${clashes.join('; ')}`);
  }

  /** The `http.Server` request listener's work for one request. Never throws. */
  dispatch(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const passing = this.#passThrough?.match(url) ?? null;
    if (passing !== null) {
      const proxy = this.#passThrough!;
      this.#pipeline
        .passThrough(req, res, path, passing.entry.auth, (failed) => proxy.web(req, res, passing, failed))
        .catch((error: unknown) => this.#pipeline.unexpected(req, res, path, error));
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const routes = this.#routes.get(path) ?? (path.startsWith(MODEL_BY_ID_PREFIX) ? this.#modelById : undefined);
    const cors = this.#pipeline.cors;
    if (cors !== null) {
      // Set here, once, for every answer: errors, local replies and proxied responses (streams included).
      applyCors(cors, req, res);
      if (routes !== undefined && isPreflight(req)) {
        this.#pipeline.preflight(req, res, path, cors).catch((error: unknown) => this.#pipeline.unexpected(req, res, path, error));
        return;
      }
    }
    if (routes === undefined) {
      req.resume();
      const error = new SluiceError('SLUICE_ROUTE_NOT_FOUND', `Unknown request URL: ${req.method} ${path}.`, { details: { method: req.method ?? '', path } });
      this.#pipeline.refuse(req, res, path, 'info', performance.now(), null, error, {});
      return;
    }
    const route = routes.find((r) => (r.kind === 'proxy' ? req.method === 'POST' : r.method === method));
    if (route === undefined) {
      req.resume();
      const allow = [...new Set(routes.map((r) => (r.kind === 'proxy' ? 'POST' : r.method === 'GET' ? 'GET, HEAD' : r.method)))].join(', ');
      const error = new SluiceError('SLUICE_METHOD_NOT_ALLOWED', `Method ${req.method} is not allowed here; use ${allow}.`, { details: { method: req.method ?? '', allow } });
      this.#pipeline.refuse(req, res, path, routes[0]!.kind === 'proxy' ? (routes[0] as ProxyRoute).endpoint : 'info', performance.now(), null, error, { allow });
      return;
    }
    if (route.kind === 'proxy') return this.#pipeline.proxy(req, res, route, path);
    this.#pipeline.local(req, res, path, route.route).catch((error: unknown) => this.#pipeline.unexpected(req, res, path, error));
  }

  #find(path: string, method: Method): Route | undefined {
    return this.#routes.get(path)?.find((r) => r.kind === 'local' && r.method === method);
  }

  #add(path: string, route: Route): void {
    const list = this.#routes.get(path);
    if (list === undefined) this.#routes.set(path, [route]);
    else list.push(route);
  }

  /** A WebSocket upgrade: only pass-through entries take them; anything else is refused with 404. */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const passing = this.#passThrough?.match(req.url ?? '/') ?? null;
    if (passing === null) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const proxy = this.#passThrough!;
    this.#pipeline.authorizeUpgrade(req, passing.entry.auth).then(
      (allowed) => {
        if (allowed) proxy.ws(req, socket, head, passing);
        else socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      },
      () => socket.destroy(),
    );
  }
}
