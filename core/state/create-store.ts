// Picks the shared-state store from the `redis:` config section: none → in memory, else Redis (standalone or Cluster).

import type { Logger } from '../logger.ts';
import type { SharedStore } from './store.ts';
import { MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';

/** The `redis:` config section. With none of url/host/cluster, Redis is 127.0.0.1:6379. */
export interface RedisConfig {
  /** `redis://[user:pass@]host:port/db` or `rediss://…` (TLS). Credentials and db in the URL win over the fields below. */
  url?: string;
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  /** `ca` is PEM text, or a path to a PEM file. */
  tls?: boolean | { ca?: string; reject_unauthorized?: boolean };
  /** Redis Cluster seed nodes. */
  cluster?: { host: string; port: number }[];
  /** Prepended to every key (default `sluice:`); must not contain `{` or `}` (they are the cluster hash tag). */
  key_prefix?: string;
  /** What a check does while Redis is unreachable: answer from local limits (default) or refuse. */
  fail_mode?: 'fail_open' | 'fail_closed';
  /** Per-command timeout (default 50 ms). */
  command_timeout_ms?: number;
}

const NODE_PORT = { type: 'integer', minimum: 1, maximum: 65535 } as const;

/** JSON Schema (draft-07, as Ajv's default) for the `redis:` section. */
export const REDIS_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    url: { type: 'string', pattern: '^rediss?://' },
    host: { type: 'string', minLength: 1 },
    port: NODE_PORT,
    password: { type: 'string' },
    username: { type: 'string' },
    db: { type: 'integer', minimum: 0 },
    tls: {
      oneOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          properties: { ca: { type: 'string', minLength: 1 }, reject_unauthorized: { type: 'boolean' } },
        },
      ],
    },
    cluster: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'port'],
        properties: { host: { type: 'string', minLength: 1 }, port: NODE_PORT },
      },
    },
    key_prefix: { type: 'string', pattern: '^[^{}]*$' },
    fail_mode: { enum: ['fail_open', 'fail_closed'] },
    command_timeout_ms: { type: 'integer', minimum: 1, maximum: 60000 },
  },
  // At most one of url / host / cluster; `port` goes with `host` (or alone, on 127.0.0.1); a cluster has no `db`.
  not: {
    anyOf: [
      { required: ['url', 'host'] },
      { required: ['url', 'cluster'] },
      { required: ['host', 'cluster'] },
      { required: ['url', 'port'] },
      { required: ['cluster', 'port'] },
      { required: ['cluster', 'db'] },
    ],
  },
} as const;

/** `null` (no `redis:` section) → the in-memory store; otherwise a Redis store that connects in the background. */
export function createStore(config: RedisConfig | null, logger: Logger): SharedStore {
  if (config === null) return new MemoryStore();
  return new RedisStore(config, logger);
}
