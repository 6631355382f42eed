// Small statistics helpers: percentiles of samples and medians across rounds.

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. Sorts `samples` in place. */
export function percentile(samples: Float64Array, p: number): number {
  if (samples.length === 0) return Number.NaN;
  samples.sort();
  const rank = Math.ceil((p / 100) * samples.length);
  return samples[Math.min(samples.length, Math.max(1, rank)) - 1]!;
}

/** Median of the finite values; NaN when there are none (a configuration that was skipped). */
export function median(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

export function min(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite);
  return xs.length === 0 ? Number.NaN : Math.min(...xs);
}

export function max(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite);
  return xs.length === 0 ? Number.NaN : Math.max(...xs);
}

/** A growable list of float samples without boxing every number. */
export class Samples {
  #data = new Float64Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  /** A copy holding exactly the samples pushed so far. */
  toArray(): Float64Array {
    return this.#data.slice(0, this.#length);
  }
}
