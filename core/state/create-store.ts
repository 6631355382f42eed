// Picks the shared-state store from the `redis:` config section: none → in memory, else Redis (standalone or Cluster).
// A worker process (`server.workers`) without Redis uses the primary process's memory store over IPC.

import cluster from 'node:cluster';
import type { Logger } from '../logger.ts';
import type { SharedStore } from './store.ts';
import { MemoryStore } from './memory-store.ts';
import type { RedisConfig } from './redis-store.ts';
import { IpcStore, parentEnd } from './ipc-store.ts';

export type { RedisConfig } from './redis-store.ts';

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
    router_sync_interval_ms: { type: 'integer', minimum: 10, maximum: 10000 },
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

/**
 * `null` (no `redis:` section) → the in-memory store, or in a worker process the primary's over IPC (one store for
 * all workers, so limits stay exact); otherwise a Redis store that connects in the background. The Redis client
 * (ioredis, about 8 MB of RSS) is imported only then.
 */
export async function createStore(config: RedisConfig | null, logger: Logger): Promise<SharedStore> {
  if (config === null) return cluster.isWorker ? new IpcStore(parentEnd()) : new MemoryStore();
  const { RedisStore } = await import('./redis-store.ts');
  return new RedisStore(config, logger);
}
