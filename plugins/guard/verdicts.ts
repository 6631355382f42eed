// What the guards decided on one request, made visible to operators: the `x-sluice-guard` response header names
// every scanner that fired (with its action and score), and the access log gets every score.

import { createSlot, type RequestContext } from '../../core/plugin/api.ts';
import type { Direction, GuardAction } from './specs.ts';

export interface Verdict {
  /** `prompt_injection`, `output.toxicity`, `llm_guard_api`... */
  readonly scanner: string;
  readonly direction: Direction;
  readonly score: number;
  readonly flagged: boolean;
  readonly action: GuardAction;
}

interface Fired {
  readonly label: string;
  readonly action: GuardAction;
  readonly score: number;
}

interface Verdicts {
  /** Scanner label → its highest score on this request. */
  readonly scores: { [label: string]: number };
  readonly fired: Fired[];
}

const VERDICTS = createSlot<Verdicts>('guard.verdicts');

/** Labels say where a scanner ran: input scanners by name, output scanners prefixed with `output.`. */
function labelOf(direction: Direction, scanner: string): string {
  return direction === 'input' ? scanner : `output.${scanner}`;
}

export function recordVerdict(ctx: RequestContext, verdict: Verdict): void {
  let verdicts = ctx.get(VERDICTS);
  if (verdicts === undefined) {
    verdicts = { scores: {}, fired: [] };
    ctx.set(VERDICTS, verdicts);
    ctx.logFields['guard_scores'] = verdicts.scores;
  }
  const label = labelOf(verdict.direction, verdict.scanner);
  const score = Math.round(verdict.score * 1000) / 1000;
  if (!(label in verdicts.scores) || verdicts.scores[label]! < score) verdicts.scores[label] = score;
  if (!verdict.flagged) return;
  verdicts.fired.push({ label, action: verdict.action, score });
  ctx.logFields['guard_fired'] = verdicts.fired.map((f) => `${f.label}=${f.action}`).join(',');
  // A monitored verdict stays out of the client's view: telling a caller the guard only watches, with the exact
  // score, would help tune an attack before blocking is switched on. The access log and the monitor line have it.
  if (verdict.action === 'monitor') return;
  // Set on the context, so it reaches the client with the answer or the error; a stream's headers may already
  // be out when an output scanner fires, and then only the access log and the final event tell.
  ctx.responseHeaders['x-sluice-guard'] = verdicts.fired
    .filter((f) => f.action !== 'monitor')
    .map((f) => `${f.label};action=${f.action};score=${f.score}`)
    .join(', ');
}

