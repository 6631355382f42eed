// Shared by the budget benches: per-op figures from tinybench results (each task ran its op `batch` times per
// sample), checked against a budget, as table rows.

import type { Bench } from 'tinybench';

export interface Budget {
  readonly name: string;
  /** Budget per op, microseconds, for the mean and for the p99 of batch means. */
  readonly meanUs: number;
  readonly p99Us: number;
}

/** One row per budget, in task order, and how many are over. Throws if a task did not complete. */
export function budgetRows(bench: Bench, budgets: readonly Budget[], batch: number, label = 'step'): { rows: Record<string, string>[]; failed: number } {
  let failed = 0;
  const rows = budgets.map((budget, i) => {
    const result = bench.tasks[i]!.result;
    if (result.state !== 'completed') throw new Error(`${budget.name}: ${result.state}`);
    const mean = (result.latency.mean * 1000) / batch;
    const p99 = (result.latency.p99 * 1000) / batch;
    const ok = mean <= budget.meanUs && p99 <= budget.p99Us;
    if (!ok) failed++;
    return {
      [label]: budget.name,
      'mean µs': mean.toFixed(3),
      'p99 µs': p99.toFixed(3),
      'budget mean/p99 µs': `${budget.meanUs} / ${budget.p99Us}`,
      verdict: ok ? 'PASS' : 'OVER BUDGET',
    };
  });
  return { rows, failed };
}
