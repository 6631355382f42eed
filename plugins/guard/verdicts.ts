// What the guards decided on one request, made visible to operators: the `x-sluice-guard` response header names
// every scanner that fired (with its action and score), and the access log gets every score.

import { createSlot, type RequestContext } from '../../core/plugin.ts';
import type { Direction, GuardAction } from './specs.ts';

export interface Verdict {
  /** `prompt_injection`, `output.toxicity`, `llm_guard_api`... */
  readonly scanner: string;
  readonly direction: Direction;
  readonly score: number;
  readonly flagged: boolean;
  readonly action: GuardAction;
}

interface Record {
  /** Scanner label → its highest score on this request. */
  readonly scores: { [label: string]: number };
  /** `label=action` of each scanner that fired, in order. */
  readonly fired: string[];
}

const VERDICTS = createSlot<Record>('guard.verdicts');

/** Labels say where a scanner ran: input scanners by name, output scanners prefixed with `output.`. */
export function labelOf(direction: Direction, scanner: string): string {
  return direction === 'input' ? scanner : `output.${scanner}`;
}

export function recordVerdict(ctx: RequestContext, verdict: Verdict): void {
  let record = ctx.get(VERDICTS);
  if (record === undefined) {
    record = { scores: {}, fired: [] };
    ctx.set(VERDICTS, record);
    ctx.logFields['guard_scores'] = record.scores;
  }
  const label = labelOf(verdict.direction, verdict.scanner);
  const score = Math.round(verdict.score * 1000) / 1000;
  if (!(label in record.scores) || record.scores[label]! < score) record.scores[label] = score;
  if (!verdict.flagged) return;
  record.fired.push(`${label};action=${verdict.action};score=${score}`);
  ctx.logFields['guard_fired'] = `${(ctx.logFields['guard_fired'] as string | undefined) ?? ''}${record.fired.length > 1 ? ',' : ''}${label}=${verdict.action}`;
  // Set on the context, so it reaches the client with the answer or the error; a stream's headers may already
  // be out when an output scanner fires, and then only the access log and the final event tell.
  ctx.responseHeaders['x-sluice-guard'] = record.fired.join(', ');
}

/** The verdicts so far (for tests and custom plugins). */
export function verdictsOf(ctx: RequestContext): { scores: Readonly<{ [label: string]: number }>; fired: readonly string[] } {
  return ctx.get(VERDICTS) ?? { scores: {}, fired: [] };
}
