// Config loading: YAML → environment substitution → JSON Schema validation (every error, with path and line).

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { Ajv, type ErrorObject } from 'ajv';
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { LogLevel } from '../logger.ts';
import type { ModelListEntry } from './models.ts';
import { inspectServerTls, parseSslVerify, type TlsSettings } from './tls-files.ts';
import { LLM_GUARD_CALLBACK } from './router-settings.ts';

export type { TlsSettings } from './tls-files.ts';

/** One entry of `plugins:` as written: a built-in id, a built-in with options, or a module of your own by path. */
export type PluginEntry =
  | string
  | { name: string; enabled?: boolean; options?: Record<string, unknown> }
  | { path: string; enabled?: boolean; options?: Record<string, unknown> };

const SCHEMA_PATH = new URL('../../config/schema.json', import.meta.url);

/** `server.redirect_http`: a plain-HTTP listener that sends every request to the https:// URL. */
export interface RedirectSettings {
  port: number;
  /** null = the TLS listener's address. */
  host: string | null;
}

/** `server.cors`: which browser origins may call the gateway. */
export interface CorsSettings {
  /** '*' for any origin, or exact origins. */
  origins: '*' | ReadonlySet<string>;
  /** Upper-case. */
  methods: readonly string[];
  /** null = allow the headers a preflight asks for. */
  headers: readonly string[] | null;
  exposeHeaders: readonly string[];
  credentials: boolean;
  /** Seconds. */
  maxAge: number;
}

export interface ServerSettings {
  host: string;
  port: number;
  bodyLimit: number;
  logLevel: LogLevel;
  logFormat: 'text' | 'json';
  upstreamConnections: number | null;
  /** Worker processes (`server.workers`, `auto` resolved to the CPU count); 1 = one process, no primary. */
  workers: number;
  /** How often Ollama discovery polls its servers, ms. */
  discoveryInterval: number;
  /** null = plain HTTP. */
  tls: TlsSettings | null;
  redirectHttp: RedirectSettings | null;
  /** null = no CORS (OPTIONS is a 405, as any other method a route does not take). */
  cors: CorsSettings | null;
  /** All in ms; 0 disables. */
  timeouts: {
    clientHeader: number;
    clientBody: number;
    keepAlive: number;
    upstreamConnect: number;
    upstreamFirstByte: number;
    upstreamIdle: number;
    upstreamTotal: number;
    /** Graceful shutdown: how long requests in flight may still run after SIGTERM. */
    shutdown: number;
  };
}

export interface LoadedConfig {
  readonly file: string;
  readonly dir: string;
  readonly server: ServerSettings;
  /** `null` when the config has no `plugins:` section (the default chain applies). */
  readonly plugins: readonly PluginEntry[] | null;
  readonly modelList: readonly ModelListEntry[];
  /** LiteLLM's sections as written (after environment substitution). */
  readonly routerSettings: Readonly<Record<string, unknown>> | null;
  readonly litellmSettings: Readonly<Record<string, unknown>> | null;
  readonly generalSettings: Readonly<Record<string, unknown>> | null;
  /** Every section as loaded (after environment substitution), for plugins that read shared sections. */
  readonly sections: Readonly<Record<string, unknown>>;
  /** The environment the config was read with (plus `environment_variables`): where provider keys are read from. */
  readonly env: NodeJS.ProcessEnv;
  readonly warnings: readonly string[];
}

export class ConfigError extends Error {
  readonly errors: readonly string[];
  constructor(file: string, errors: readonly string[]) {
    super(`${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n  ${errors.join('\n  ')}`);
    this.name = 'ConfigError';
    this.errors = errors;
  }
}

/** The `general_settings` keys Sluice reads; every other one gets a warning line. */
const GENERAL_SETTINGS_ACTED_ON = new Set(['master_key', 'pass_through_endpoints', 'health_check_interval', 'health_check_timeout']);
const KNOWN_TOP_LEVEL = new Set([
  'server',
  'plugins',
  'keys',
  'teams',
  'redis',
  'localizer',
  'llm_guard',
  'model_list',
  'environment_variables',
  'router_settings',
  'litellm_settings',
  'general_settings',
  'load_balancing_config',
  // LiteLLM's response cache parameters, where the seed deployments write them (read by the cache plugin).
  'cache_params',
]);

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: true, useDefaults: false });
const validateSchema = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);

/** Reads, substitutes and validates a config file. Throws `ConfigError` listing every problem found. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  return parseConfig(text, path, env);
}

export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lineCounter = new LineCounter();
  // LiteLLM's YAML parser keeps the last of duplicate keys; so does Sluice, with a warning naming both lines.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      path,
      doc.errors.map((e) => `line ${lineCounter.linePos(e.pos[0]).line}: YAML syntax: ${e.message.split('\n')[0]}`),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(path, ['the file must contain a YAML mapping (key: value) at the top level']);
  }
  const warnings: string[] = duplicateKeys(doc, lineCounter);
  const data = raw as Record<string, unknown>;

  // LiteLLM sets these into the environment before reading `os.environ/` values; so do we.
  const envVars = data['environment_variables'];
  const effectiveEnv: NodeJS.ProcessEnv = { ...env };
  if (typeof envVars === 'object' && envVars !== null) {
    for (const [key, value] of Object.entries(envVars)) effectiveEnv[key] ??= String(value);
  }
  const unresolved: UnresolvedVariable[] = [];
  const substituted = substituteEnv(data, effectiveEnv, [], unresolved) as Record<string, unknown>;
  const unguarded = unresolved.filter((u) => !guardsAccess(u.path));
  for (const u of unguarded) warnings.push(`${formatPath(u.path)}: environment variable ${u.name} ${u.empty ? 'is empty' : 'is not set'}`);
  const failClosed = unresolved.filter((u) => guardsAccess(u.path));
  if (failClosed.length > 0) {
    throw new ConfigError(
      path,
      failClosed.map((u) => {
        const line = lineOf(doc, lineCounter, u.path.map(String));
        const state = u.empty ? 'is empty' : 'is not set';
        return `${line === null ? '' : `line ${line}: `}${formatPath(u.path)}: environment variable ${u.name} ${state}; refusing to start without this secret (it guards access), set it or remove the key`;
      }),
    );
  }

  if (!validateSchema(substituted)) {
    const errors = (validateSchema.errors ?? []).filter(notNoise).map((e) => formatAjvError(e, doc, lineCounter));
    throw new ConfigError(path, [...new Set(errors)]);
  }
  const tlsErrors = checkTlsFiles(substituted, dirname(path), doc, lineCounter);
  if (tlsErrors.length > 0) throw new ConfigError(path, tlsErrors);

  applyLlmGuardCallback(substituted, effectiveEnv, warnings);

  for (const key of Object.keys(substituted)) {
    if (!KNOWN_TOP_LEVEL.has(key)) warnings.push(`${key}: not a Sluice or LiteLLM section Sluice knows; ignored`);
  }
  // master_key is read by auth.api_key, pass_through_endpoints by the route table, health_check_* by health.active;
  // the rest is not acted on yet.
  const general = substituted['general_settings'];
  if (typeof general === 'object' && general !== null) {
    for (const key of Object.keys(general)) {
      if (!GENERAL_SETTINGS_ACTED_ON.has(key)) warnings.push(`general_settings.${key}: not acted on yet; ignored`);
    }
  }

  return {
    file: path,
    dir: dirname(path),
    server: resolveServer((substituted['server'] ?? {}) as Record<string, unknown>, dirname(path)),
    plugins: (substituted['plugins'] as PluginEntry[] | undefined) ?? null,
    modelList: (substituted['model_list'] as ModelListEntry[] | undefined) ?? [],
    routerSettings: (substituted['router_settings'] as Record<string, unknown> | undefined) ?? null,
    litellmSettings: (substituted['litellm_settings'] as Record<string, unknown> | undefined) ?? null,
    generalSettings: (substituted['general_settings'] as Record<string, unknown> | undefined) ?? null,
    sections: substituted,
    env: effectiveEnv,
    warnings,
  };
}

const ENV_WHOLE = /^os\.environ\/([A-Za-z_][A-Za-z0-9_]*)$/;
const ENV_INLINE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A `os.environ/NAME` or `${NAME}` that resolved to nothing (unset, or set to the empty string). */
interface UnresolvedVariable {
  readonly path: readonly (string | number)[];
  readonly name: string;
  readonly empty: boolean;
}

/**
 * Values that guard access: a secret among them that resolves to nothing must not start a gateway with auth off
 * (or Redis without its password), so such a config is refused instead of warned about.
 */
function guardsAccess(path: readonly (string | number)[]): boolean {
  const [section, index, key, option] = path;
  if (section === 'general_settings') return index === 'master_key' && path.length === 2;
  if (section === 'keys') return typeof index === 'number' && (key === 'key' || key === 'key_sha256') && path.length === 3;
  if (section === 'redis') return (index === 'password' || index === 'url') && path.length === 2;
  if (section === 'plugins') return typeof index === 'number' && key === 'options' && option === 'master_key' && path.length === 4;
  return false;
}

/** Replaces `os.environ/NAME` (a whole value) and `${NAME}` (inside a string), noting variables that are unset or empty. */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[], unresolved: UnresolvedVariable[]): unknown {
  if (typeof value === 'string') {
    const whole = ENV_WHOLE.exec(value);
    if (whole !== null) {
      const found = env[whole[1]!];
      if (found === undefined || found === '') unresolved.push({ path, name: whole[1]!, empty: found === '' });
      return found;
    }
    if (!value.includes('${')) return value;
    return value.replace(ENV_INLINE, (_, name: string) => {
      const found = env[name];
      if (found === undefined || found === '') unresolved.push({ path, name, empty: found === '' });
      return found ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, [...path, i], unresolved));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const next = substituteEnv(item, env, [...path, key], unresolved);
      if (next !== undefined) out[key] = next;
    }
    return out;
  }
  return value;
}

/** One warning per repeated key of a mapping, naming the line of each: the last one is the one kept. */
function duplicateKeys(doc: Document, lines: LineCounter): string[] {
  const warnings: string[] = [];
  visit(doc, {
    Map(_, map) {
      const firstLine = new Map<unknown, number>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : String(pair.key);
        const start = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
        const line = start === undefined ? 0 : lines.linePos(start).line;
        const first = firstLine.get(key);
        if (first === undefined) firstLine.set(key, line);
        else warnings.push(`line ${line}: duplicate key "${String(key)}" (first on line ${first}); the last one wins, as in LiteLLM`);
      }
    },
  });
  return warnings;
}

/** The built-in input guards `llmguard_moderations` runs when there is neither an LLM Guard server nor a section. */
const LLM_GUARD_CALLBACK_SCANNERS = ['PromptInjection', 'Toxicity', 'Secrets'];

/**
 * `litellm_settings.callbacks: [llmguard_moderations]` is LiteLLM's LLM Guard: it sends each prompt to the LLM Guard
 * API server at `LLM_GUARD_API_BASE` (input only). Here it becomes (part of) the `llm_guard:` section, which the
 * module set turns into guard plugins: the server is added to a section that has none, or is the whole section.
 * Without the variable LiteLLM refuses to start; Sluice runs its built-in input guards instead, and says so.
 */
function applyLlmGuardCallback(config: Record<string, unknown>, env: NodeJS.ProcessEnv, warnings: string[]): void {
  const litellm = config['litellm_settings'] as Record<string, unknown> | null | undefined;
  const callbacks = litellm?.['callbacks'];
  const named = Array.isArray(callbacks) ? callbacks.includes(LLM_GUARD_CALLBACK) : callbacks === LLM_GUARD_CALLBACK;
  if (!named) return;
  const apiBase = env['LLM_GUARD_API_BASE'] === '' ? undefined : env['LLM_GUARD_API_BASE'];
  const section = config['llm_guard'] as Record<string, unknown> | null | undefined;
  if (typeof section === 'object' && section !== null) {
    if (apiBase !== undefined && section['api_base'] === undefined) section['api_base'] = apiBase;
    return;
  }
  if (apiBase !== undefined) {
    config['llm_guard'] = { api_base: apiBase, output_scanning: { enabled: false } };
    return;
  }
  config['llm_guard'] = { input_scanning: { scanners: LLM_GUARD_CALLBACK_SCANNERS } };
  warnings.push(
    `litellm_settings.callbacks: ${LLM_GUARD_CALLBACK} without LLM_GUARD_API_BASE (LiteLLM would not start): the built-in input guards ${LLM_GUARD_CALLBACK_SCANNERS.join(', ')} run instead; set LLM_GUARD_API_BASE for an LLM Guard API server, or write an llm_guard: section`,
  );
}

/** `oneOf` reports each failed branch; the branch errors already say what is wrong. */
function notNoise(error: ErrorObject): boolean {
  if (error.keyword === 'type' && (error.params as { type?: unknown }).type === 'null') return false;
  return error.keyword !== 'oneOf' && error.keyword !== 'if';
}

function formatAjvError(error: ErrorObject, doc: Document, lines: LineCounter): string {
  const segments = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map(decodePointer);
  let message = error.message ?? 'is invalid';
  let target = segments;
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty);
    message = `unknown key "${key}"`;
    target = [...segments, key];
  } else if (error.keyword === 'enum') {
    message = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (error.keyword === 'not' && segments[0] === 'redis') {
    message = 'use at most one of url, host and cluster (port goes with host; a cluster has no db)';
  } else if (error.keyword === 'required') {
    message = `missing required key "${(error.params as { missingProperty: string }).missingProperty}"`;
  }
  const line = lineOf(doc, lines, target) ?? lineOf(doc, lines, segments);
  const where = formatPath(segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s))) || '(top level)';
  return `${line === null ? '' : `line ${line}: `}${where}: ${message}`;
}

function lineOf(doc: Document, lines: LineCounter, segments: string[]): number | null {
  const keys = segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const node = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range === undefined ? null : lines.linePos(range[0]).line;
}

function decodePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out;
}

/** `server.tls` with absolute paths. `client_auth` defaults to `required` when `ca` is set. */
function resolveTls(tls: Record<string, unknown> | undefined, dir: string): TlsSettings | null {
  if (tls === undefined) return null;
  const ca = tls['ca'] as string | undefined;
  return {
    cert: resolve(dir, tls['cert'] as string),
    key: resolve(dir, tls['key'] as string),
    ca: ca === undefined ? null : resolve(dir, ca),
    clientAuth: ca === undefined ? 'none' : ((tls['client_auth'] as 'optional' | 'required' | undefined) ?? 'required'),
    minVersion: (tls['min_version'] as 'TLSv1.2' | 'TLSv1.3' | undefined) ?? 'TLSv1.2',
    http2: (tls['http2'] as boolean | undefined) ?? true,
  };
}

function resolveRedirect(redirect: Record<string, unknown> | undefined): RedirectSettings | null {
  if (redirect === undefined) return null;
  return { port: redirect['port'] as number, host: (redirect['host'] as string | undefined) ?? null };
}

/** Response headers a page may read by default: the ones the gateway itself sets. */
const DEFAULT_EXPOSED = [
  'x-request-id',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
  'x-litellm-model-id',
  'x-litellm-model-group',
  'x-litellm-attempted-retries',
  'x-litellm-attempted-fallbacks',
  'x-litellm-response-duration-ms',
  'retry-after',
];

function resolveCors(cors: Record<string, unknown> | undefined): CorsSettings | null {
  if (cors === undefined) return null;
  const origins = cors['origins'] as '*' | string[];
  return {
    origins: origins === '*' ? '*' : new Set(origins),
    methods: ((cors['methods'] as string[] | undefined) ?? ['GET', 'POST', 'OPTIONS']).map((m) => m.toUpperCase()),
    headers: (cors['headers'] as string[] | undefined) ?? null,
    exposeHeaders: (cors['expose_headers'] as string[] | undefined) ?? DEFAULT_EXPOSED,
    credentials: (cors['credentials'] as boolean | undefined) ?? false,
    maxAge: (cors['max_age'] as number | undefined) ?? 600,
  };
}

/**
 * Checks TLS files at load, so `--check` reports a missing or unusable certificate with its path: `server.tls`'s
 * certificate, key and CA (each parses, the key matches), and model_list's `ssl_verify` / `tls_ca` CA files. Those
 * model_list paths are made absolute here, in place, relative to the config file's directory.
 */
function checkTlsFiles(config: Record<string, unknown>, dir: string, doc: Document, lines: LineCounter): string[] {
  const errors: string[] = [];
  const report = (segments: readonly (string | number)[], message: string): void => {
    const line = lineOf(doc, lines, segments.map(String));
    errors.push(`${line === null ? '' : `line ${line}: `}${message}`);
  };
  const server = config['server'] as Record<string, unknown> | undefined;
  const tls = resolveTls(server?.['tls'] as Record<string, unknown> | undefined, dir);
  if (tls !== null) {
    for (const problem of inspectServerTls(tls).problems) {
      if (problem.field === null) report(['server', 'tls'], problem.message);
      else report(['server', 'tls', problem.field], `server.tls.${problem.field}: ${problem.message}`);
    }
  }
  const list = config['model_list'];
  if (!Array.isArray(list)) return errors;
  list.forEach((entry: unknown, index) => {
    const params = (entry as { litellm_params?: Record<string, unknown> }).litellm_params;
    if (params === undefined) return;
    for (const key of ['ssl_verify', 'tls_ca'] as const) {
      const value = key === 'ssl_verify' ? parseSslVerify(params[key]) : params[key];
      if (typeof value !== 'string') continue;
      const file = resolve(dir, value);
      params[key] = file;
      try {
        readFileSync(file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        report(['model_list', index, 'litellm_params', key], `model_list[${index}].litellm_params.${key}: cannot read ${file} (${code})`);
      }
    }
  });
  return errors;
}

function resolveServer(server: Record<string, unknown>, dir: string): ServerSettings {
  const t = (server['timeouts'] ?? {}) as Record<string, number | undefined>;
  const ms = (value: number | undefined, fallbackSeconds: number): number => Math.round((value ?? fallbackSeconds) * 1000);
  return {
    host: (server['host'] as string | undefined) ?? '0.0.0.0',
    port: (server['port'] as number | undefined) ?? 4000,
    bodyLimit: parseSize(server['body_limit'] as string | number | undefined),
    logLevel: (server['log_level'] as LogLevel | undefined) ?? 'info',
    logFormat: (server['log_format'] as 'text' | 'json' | undefined) ?? 'text',
    upstreamConnections: (server['upstream_connections'] as number | null | undefined) ?? null,
    workers: server['workers'] === 'auto' ? availableParallelism() : ((server['workers'] as number | undefined) ?? 1),
    discoveryInterval: Math.round(((server['discovery_interval'] as number | undefined) ?? 10) * 1000),
    tls: resolveTls(server['tls'] as Record<string, unknown> | undefined, dir),
    redirectHttp: resolveRedirect(server['redirect_http'] as Record<string, unknown> | undefined),
    cors: resolveCors(server['cors'] as Record<string, unknown> | undefined),
    timeouts: {
      clientHeader: ms(t['client_header'], 30),
      clientBody: ms(t['client_body'], 30),
      keepAlive: ms(t['keep_alive'], 65),
      upstreamConnect: ms(t['upstream_connect'], 10),
      upstreamFirstByte: ms(t['upstream_first_byte'], 600),
      upstreamIdle: ms(t['upstream_idle'], 120),
      upstreamTotal: ms(t['upstream_total'], 900),
      shutdown: ms(t['shutdown'], 10),
    },
  };
}

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** `10mb` → bytes (binary units, as nginx's client_max_body_size). */
export function parseSize(value: string | number | undefined): number {
  if (value === undefined) return 10 * 1024 ** 2;
  if (typeof value === 'number') return value;
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)$/.exec(value.trim().toLowerCase());
  return Math.floor(Number(match![1]) * UNITS[match![2]!]!);
}
