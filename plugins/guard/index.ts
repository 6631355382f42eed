// The guard plugins: each built-in scanner on requests (`guard.input.<name>`) or on answers (`guard.output.<name>`).
//
//   plugins:
//     - route.simple_shuffle
//     - name: guard.input.prompt_injection
//       options: { threshold: 0.5, action: block, messages: last_user }
//     - name: guard.input.secrets
//       options: { action: redact }
//     - name: guard.output.toxicity
//       options: { action: block, on_block: notice }
//
// Options every guard takes: `enabled` (default true), `threshold` (0..1, the scanner's own default otherwise),
// `action` (block | redact, where the scanner can | log; input guards also `monitor`: pass, and log a line for each
// request it would block). Input guards take `routes`: per model or path, a threshold and action of their own. Input guards: `messages` (last_user | user | all), and
// `max_scan_chars` (default 256 Ki) with `on_oversize` (block | truncate) for a request with more text than that;
// token_limit measures the whole text and takes neither.
// Output guards: `on_block` (notice | error) for JSON answers; streams always end with a notice event.

import { definePlugin, type JsonSchema, type MessageSelection, type Plugin, type PluginFactory } from '../../core/plugin/api.ts';
import { DEFAULT_MAX_SCAN_CHARS, guardInput, type Oversize } from './input-guard.ts';
import { guardBody, StreamGuard } from './output-guard.ts';
import { INPUT_SCANNERS, OUTPUT_SCANNERS, type Direction, type GuardAction, type ScannerSpec } from './specs.ts';

export interface GuardOptions {
  enabled?: boolean;
  threshold?: number;
  action?: GuardAction;
  messages?: MessageSelection;
  max_scan_chars?: number;
  on_oversize?: Oversize;
  on_block?: 'notice' | 'error';
  routes?: RouteOption[];
  [scannerOption: string]: unknown;
}

/** One `routes` entry of an input guard: where it applies (models and/or paths) and what changes there. */
export interface RouteOption {
  models?: string[];
  paths?: string[];
  threshold?: number;
  action?: GuardAction;
}

function schemaFor(direction: Direction, spec: ScannerSpec): JsonSchema {
  const actions = direction === 'input' ? (spec.redacts ? ['block', 'redact', 'log', 'monitor'] : ['block', 'log', 'monitor']) : ['block', 'log'];
  const threshold: JsonSchema = { type: 'number', exclusiveMinimum: 0, maximum: 1 };
  const names: JsonSchema = { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 };
  const routes: JsonSchema = {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      anyOf: [{ required: ['models'] }, { required: ['paths'] }],
      properties: { models: names, paths: names, threshold, action: { enum: actions } },
    },
  };
  return {
    type: 'object',
    additionalProperties: false,
    required: [...spec.required],
    properties: {
      enabled: { type: 'boolean' },
      threshold,
      action: { enum: actions },
      ...(direction === 'input' ? { messages: { enum: ['last_user', 'user', 'all'] }, routes } : { on_block: { enum: ['notice', 'error'] } }),
      ...(direction === 'input' && !spec.joined ? { max_scan_chars: { type: 'integer', minimum: 1 }, on_oversize: { enum: ['block', 'truncate'] } } : {}),
      ...spec.properties,
    },
  };
}

function guardFactory(direction: Direction, spec: ScannerSpec): PluginFactory<GuardOptions> {
  return definePlugin<GuardOptions>({
    id: `guard.${direction}.${spec.name}`,
    description: `${direction === 'input' ? 'Requests' : 'Answers'}: ${spec.about}.`,
    schema: schemaFor(direction, spec),
    create(options, deps): Plugin {
      if (options.enabled === false) return {};
      const scanner = spec.create(options, options.threshold);
      const action = options.action ?? 'block';
      if (direction === 'input') {
        const settings = {
          spec,
          scanner,
          threshold: options.threshold,
          action,
          // A route with its own threshold gets its own scanner (a model's weights are shared, not reloaded).
          routes: (options.routes ?? []).map((r) => ({
            models: r.models ?? null,
            paths: r.paths ?? null,
            scanner: r.threshold === undefined ? scanner : spec.create(options, r.threshold),
            threshold: r.threshold ?? options.threshold,
            action: r.action ?? action,
          })),
          logger: deps.logger,
          messages: options.messages ?? spec.messages,
          maxScanChars: options.max_scan_chars ?? DEFAULT_MAX_SCAN_CHARS,
          oversize: options.on_oversize ?? 'block',
        };
        return {
          guardRequest(ctx) {
            guardInput(ctx, settings);
          },
        };
      }
      const settings = { spec, scanner, action: action === 'redact' ? 'block' : action === 'monitor' ? 'log' : action, onBlock: options.on_block ?? 'notice', localize: deps.localize } as const;
      const stream = new StreamGuard(settings);
      return {
        onResponseBody: (ctx, body) => guardBody(ctx, body, settings),
        onResponseEvent: (ctx, event) => stream.onEvent(ctx, event),
      };
    },
  });
}

/** Every built-in guard plugin by id. */
export const GUARD_PLUGINS: Readonly<Record<string, PluginFactory<GuardOptions>>> = Object.fromEntries([
  ...Object.values(INPUT_SCANNERS).map((spec) => [`guard.input.${spec.name}`, guardFactory('input', spec)] as const),
  ...Object.values(OUTPUT_SCANNERS).map((spec) => [`guard.output.${spec.name}`, guardFactory('output', spec)] as const),
]);
