// limit.client: requests per client address, like nginx's limit_req (rate, burst, nodelay).

import { BlockList, isIP } from 'node:net';
import { definePlugin, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { rateLimited, rateLimitHeaders } from './headers.ts';

interface Options {
  /** `10r/s` or `600r/m`, as nginx writes it. */
  rate: string;
  /** Requests above the rate absorbed at once (nginx's `burst`). Default 0. */
  burst?: number;
  /** Forward burst requests at once (true, default) or space them out to the rate (false), as nginx's `nodelay`. */
  nodelay?: boolean;
  /** Proxies whose `X-Forwarded-For` is believed: addresses or CIDRs. Default none: the socket's peer is the client. */
  trusted_proxies?: string[];
  /** Limit only these routes (e.g. `/v1/chat/completions`); default every proxied route. Add the plugin twice for
   * different rates on different routes. */
  paths?: string[];
}

/**
 * GCRA (the algorithm behind nginx's leaky bucket): exact, no fixed-window edge that lets twice the rate through.
 * Runs in `onRequest`, before authentication, so floods are refused before any key lookup.
 *
 * ```yaml
 * plugins:
 *   - name: limit.client
 *     options: { rate: 20r/s, burst: 40, trusted_proxies: [10.0.0.0/8] }
 *   - route.least_busy
 * ```
 */
export default definePlugin<Options>({
  id: 'limit.client',
  description: 'Requests per client address (rate, burst, nodelay), like nginx limit_req.',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['rate'],
    properties: {
      rate: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?r/[sm]$' },
      burst: { type: 'integer', minimum: 0, default: 0 },
      nodelay: { type: 'boolean', default: true },
      trusted_proxies: { type: 'array', items: { type: 'string', minLength: 2 } },
      paths: { type: 'array', items: { type: 'string', pattern: '^/' }, minItems: 1 },
    },
  },
  create(options, deps): Plugin {
    const [amount, unit] = options.rate.split('r/') as [string, string];
    const perSecond = Number(amount) / (unit === 'm' ? 60 : 1);
    const burst = options.burst ?? 0;
    const nodelay = options.nodelay ?? true;
    const intervalMs = 1000 / perSecond;
    const trusted = trustList(options.trusted_proxies ?? []);
    const paths = options.paths === undefined ? null : new Set(options.paths);
    // Each instance counts in its own keys, so two instances with different paths keep separate budgets.
    const scope = paths === null ? 'client' : `client:${[...paths].sort().join(',')}`;

    return {
      async onRequest(ctx: RequestContext) {
        if (paths !== null && !paths.has(ctx.path)) return;
        const client = clientAddress(ctx, trusted);
        const decision = await deps.store.gcra(`${scope}:${client}`, perSecond, burst, Date.now());
        const headers: Record<string, string> = {};
        rateLimitHeaders(headers, 'requests', decision);
        if (!decision.allowed) {
          throw rateLimited(`Too many requests from ${client}: the limit is ${options.rate}${burst > 0 ? ` with a burst of ${burst}` : ''}.`, decision.retryAfterMs, headers, {
            scope: 'client',
            limit: options.rate,
          });
        }
        Object.assign(ctx.responseHeaders, headers);
        // Without nodelay, a request taken from the burst waits its turn so requests leave at the rate.
        const queued = burst - decision.remaining;
        if (!nodelay && queued > 0) await new Promise((resolve) => setTimeout(resolve, queued * intervalMs));
      },
    };
  },
});

function trustList(entries: readonly string[]): BlockList | null {
  if (entries.length === 0) return null;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(address) === 0) throw new Error(`trusted_proxies: "${entry}" is not an address or CIDR`);
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The socket's peer, or, behind trusted proxies, the right-most `X-Forwarded-For` hop that is not one of them. */
export function clientAddress(ctx: RequestContext, trusted: BlockList | null): string {
  const peer = normalize(ctx.clientAddress);
  if (trusted === null || !isTrusted(trusted, peer)) return peer;
  const header = ctx.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => normalize(h.trim())).filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!isTrusted(trusted, hops[i]!)) return hops[i]!;
  }
  return hops[0] ?? peer;
}

/** `::ffff:10.0.0.1` (IPv4 on a dual-stack socket) is the IPv4 address. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
