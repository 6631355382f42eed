// log.access: one line per request, after it ends, like nginx's access_log.

import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { definePlugin, escapeLogText, type Plugin, type RequestContext } from '../../core/plugin/api.ts';

interface Options {
  /** `stderr` (default), `stdout`, or a file path (relative to the config file). */
  destination?: string;
  format?: 'json' | 'text';
}

/**
 * Access log. Never logs request bodies or credentials.
 *
 * ```yaml
 * plugins:
 *   - route.round_robin
 *   - name: log.access
 *     options: { destination: stdout, format: json }
 * ```
 */
export default definePlugin<Options>({
  id: 'log.access',
  description: 'One line per request with status, model, deployment and timings.',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      destination: { type: 'string', minLength: 1 },
      format: { enum: ['json', 'text'] },
    },
  },
  create(options, deps): Plugin {
    const destination = options.destination ?? 'stderr';
    const json = (options.format ?? 'json') === 'json';
    const file = destination === 'stderr' || destination === 'stdout' ? null : resolve(deps.configDir, destination);
    const write =
      file !== null
        ? (line: string) => appendFileSync(file, line)
        : destination === 'stdout'
          ? (line: string) => process.stdout.write(line)
          : (line: string) => process.stderr.write(line);
    return {
      log(ctx: RequestContext): void {
        const entry = {
          time: new Date().toISOString(),
          id: ctx.id,
          client: ctx.clientAddress,
          path: ctx.path,
          api: ctx.api,
          model: ctx.model,
          deployment: ctx.deployment?.id ?? null,
          stream: ctx.stream,
          status: ctx.status,
          outcome: ctx.outcome,
          prompt_tokens: ctx.usage?.promptTokens ?? null,
          completion_tokens: ctx.usage?.completionTokens ?? null,
          error: ctx.error?.code ?? null,
          ttfb_ms: ctx.firstByteAt === 0 ? null : round(ctx.firstByteAt - ctx.startedAt),
          duration_ms: round(ctx.endedAt - ctx.startedAt),
          ...ctx.logFields,
        };
        write(json ? JSON.stringify(entry) + '\n' : textLine(entry));
      },
    };
  },
});

/**
 * `time client "path" status model deployment duration outcome`. Every field is escaped, so a model name with a
 * newline cannot write a line of its own; the quoted path also escapes `"`.
 */
function textLine(entry: Readonly<Record<string, unknown>>): string {
  const field = (name: string): string => escapeLogText(String(entry[name] ?? '-'));
  const path = field('path').replaceAll('"', '\\"');
  return `${field('time')} ${field('client')} "${path}" ${field('status')} ${field('model')} ${field('deployment')} ${field('duration_ms')}ms ${field('outcome')}\n`;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
