// The upstream client: one keep-alive pool per backend origin, and the mapping of transport errors. Plain http://
// origins get the raw HTTP/1.1 client (raw-http1.ts, the cheaper one per request); https:// and TLS settings get undici.

import type { Dispatcher, Pool as UndiciPool } from 'undici';
import { Pool } from './undici.ts';
import { SluiceError } from '../errors.ts';
import type { Deployment } from '../config/models.ts';
import { MockDispatcher } from '../providers/mock.ts';
import { upstreamConnectOptions } from '../config/tls-files.ts';
import { RawHttp1Dispatcher } from './raw-http1.ts';

/** What an attempt needs from an upstream: undici's low-level `dispatch`. The mock provider implements it too. */
export interface UpstreamDispatcher {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

/** Upstream timeouts in ms; 0 disables one. */
export interface UpstreamTimeouts {
  connect: number;
  /** Until the response headers arrive (time to first byte). */
  firstByte: number;
  /** Longest silence between two body chunks. */
  idle: number;
  /** Whole exchange, headers to last byte. */
  total: number;
}

export interface UpstreamOptions {
  readonly timeouts: UpstreamTimeouts;
  readonly keepAliveMs: number;
  /** Max sockets per backend origin; null = unlimited. */
  readonly connectionsPerOrigin: number | null;
}

/**
 * Owns the connection pools. Backends sharing an origin and TLS settings share a pool (and its warm sockets); two
 * deployments on one origin with different `tls_ca` / `ssl_verify` get a pool each.
 */
export class Upstreams {
  readonly #pools = new Map<string, Pool | RawHttp1Dispatcher>();
  readonly #mocks = new Map<string, MockDispatcher>();
  readonly options: UpstreamOptions;

  constructor(options: UpstreamOptions) {
    this.options = options;
  }

  for(deployment: Deployment): UpstreamDispatcher {
    if (deployment.kind === 'mock') {
      let mock = this.#mocks.get(deployment.id);
      if (mock === undefined) this.#mocks.set(deployment.id, (mock = new MockDispatcher(deployment.mock)));
      return mock;
    }
    const tls = deployment.upstreamTls;
    const key = tls === null ? deployment.origin : tls.poolKey;
    let pool = this.#pools.get(key);
    if (pool === undefined && tls === null && deployment.origin.startsWith('http://')) {
      pool = new RawHttp1Dispatcher(deployment.origin, this.options);
      this.#pools.set(key, pool);
    } else if (pool === undefined) {
      const options: UndiciPool.Options = {
        connections: this.options.connectionsPerOrigin,
        connectTimeout: this.options.timeouts.connect,
        keepAliveTimeout: this.options.keepAliveMs,
        headersTimeout: this.options.timeouts.firstByte,
        bodyTimeout: this.options.timeouts.idle,
        pipelining: 1,
      };
      const connect = upstreamConnectOptions(tls);
      if (connect !== undefined) options.connect = connect;
      pool = new Pool(deployment.origin, options);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
/** A response that is not HTTP/1.1 as it should be: llhttp's codes, which raw-http1.ts uses too. */
const MALFORMED_PREFIX = 'HPE_';
/** OpenSSL's verification failures, as Node reports them. */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Maps a transport error to a client-facing SluiceError by its `code`. The message names the model group and
 * the deployment id, never the api_key or the upstream's own message (which may echo URLs).
 */
export function mapUpstreamError(error: unknown, deployment: Deployment): SluiceError {
  if (error instanceof SluiceError) return error;
  const code = errorCode(error);
  const details = { model: deployment.group, deployment: deployment.id };
  const who = `model group "${deployment.group}" (deployment ${deployment.id})`;
  if (TIMEOUT_CODES.has(code)) {
    const what =
      code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connecting' : code === 'UND_ERR_BODY_TIMEOUT' ? 'between response chunks' : 'waiting for the response';
    return new SluiceError('SLUICE_UPSTREAM_TIMEOUT', `Upstream timed out ${what} for ${who}.`, { details, cause: error });
  }
  if (CONNECT_CODES.has(code)) {
    return new SluiceError('SLUICE_UPSTREAM_UNREACHABLE', `Upstream for ${who} is unreachable (${code}).`, { details, cause: error });
  }
  if (TLS_VERIFY_CODES.has(code)) {
    return new SluiceError(
      'SLUICE_UPSTREAM_UNREACHABLE',
      `Upstream for ${who} failed TLS certificate verification (${code}); see litellm_params.tls_ca and ssl_verify.`,
      { details, cause: error },
    );
  }
  if (code.startsWith(MALFORMED_PREFIX)) {
    return new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', `Upstream for ${who} sent a malformed HTTP response (${code}).`, { details, cause: error });
  }
  if (RESET_CODES.has(code)) {
    return new SluiceError('SLUICE_UPSTREAM_RESET', `Upstream for ${who} closed the connection (${code}).`, { details, cause: error });
  }
  return new SluiceError('SLUICE_UPSTREAM_UNREACHABLE', `Upstream request for ${who} failed (${code || 'unknown error'}).`, { details, cause: error });
}

/** The errno-style code of a transport error, looking inside wrappers (AggregateError, `cause`); '' when none. */
export function errorCode(error: unknown, depth = 0): string {
  // Bounded: a `cause` chain can be circular.
  if (typeof error !== 'object' || error === null || depth > 3) return '';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  // Connection errors can arrive wrapped (AggregateError for happy-eyeballs, or as a cause).
  const nested = (error as { errors?: unknown[] }).errors?.[0] ?? (error as { cause?: unknown }).cause;
  return nested === undefined ? '' : errorCode(nested, depth + 1);
}
