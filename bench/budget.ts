// Shared by the budget benches: per-op figures from tinybench results (each task ran its op `batch` times per
// sample), checked against a budget, as table rows, and the lines that say which step broke its budget.
//
// The verdict reads the median (p50) of the batch means against `meanUs`: a shared, noisy machine moves it little.
// The mean and the p99 are printed beside it. On a machine shared with other work, a few batches that lost their
// time slice (milliseconds each) can multiply the mean of a sub-microsecond step, so the mean alone would flap; the
// p99 catches the odd batch with a garbage collection in it, and fails a step only when `strictP99` is set.

import type { Bench } from 'tinybench';

export interface Budget {
  readonly name: string;
  /** Budget per op, microseconds, for the typical op: the p50 of batch means must be at or under it. */
  readonly meanUs: number;
  /** Per op, microseconds: the p99 of batch means, shown beside it (a verdict only with `strictP99`). */
  readonly p99Us: number;
  /** Fail the step on its p99 too (for steps whose tail is the point). */
  readonly strictP99?: boolean;
}

/** One step's figures against its budget. */
export interface BudgetResult {
  readonly budget: Budget;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly ok: boolean;
}

/** A step's verdict from its per-op figures. */
export function judge(budget: Budget, meanUs: number, p50Us: number, p99Us: number): BudgetResult {
  const ok = p50Us <= budget.meanUs && (budget.strictP99 !== true || p99Us <= budget.p99Us);
  return { budget, meanUs, p50Us, p99Us, ok };
}

/** The results of `bench`'s tasks, in task order, one per budget. Throws if a task did not complete. */
export function budgetResults(bench: Bench, budgets: readonly Budget[], batch: number): BudgetResult[] {
  return budgets.map((budget, i) => {
    const result = bench.tasks[i]!.result;
    if (result.state !== 'completed') throw new Error(`${budget.name}: ${result.state}`);
    const per = (ms: number): number => (ms * 1000) / batch;
    return judge(budget, per(result.latency.mean), per(result.latency.p50), per(result.latency.p99));
  });
}

/** A table row: what was measured beside what is allowed. */
export function budgetRow(r: BudgetResult, label = 'step'): Record<string, string> {
  const p99Over = r.p99Us > r.budget.p99Us;
  return {
    [label]: r.budget.name,
    'p50 µs': r.p50Us.toFixed(3),
    'budget µs (p50)': String(r.budget.meanUs),
    'mean µs': r.meanUs.toFixed(3),
    'p99 µs': r.p99Us.toFixed(3) + (p99Over && r.budget.strictP99 !== true ? ' (over, noted)' : ''),
    'p99 budget µs': String(r.budget.p99Us),
    verdict: r.ok ? 'PASS' : 'OVER BUDGET',
  };
}

/** One line per broken budget, naming the step and the numbers. */
export function overBudgetLines(results: readonly BudgetResult[]): string[] {
  return results
    .filter((r) => !r.ok)
    .map((r) => {
      const p99 = r.budget.strictP99 === true ? `, p99 ${r.p99Us.toFixed(3)} µs (budget ${r.budget.p99Us})` : '';
      return `OVER BUDGET: ${r.budget.name}: p50 ${r.p50Us.toFixed(3)} µs per op, budget ${r.budget.meanUs} µs (mean ${r.meanUs.toFixed(3)} µs)${p99}`;
    });
}

/** One row per budget, in task order, and how many are over (the shape the other budget benches print). */
export function budgetRows(bench: Bench, budgets: readonly Budget[], batch: number, label = 'step'): { rows: Record<string, string>[]; failed: number } {
  const results = budgetResults(bench, budgets, batch);
  for (const line of overBudgetLines(results)) console.error(line);
  return { rows: results.map((r) => budgetRow(r, label)), failed: results.filter((r) => !r.ok).length };
}
