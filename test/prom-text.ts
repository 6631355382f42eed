// A strict reader of Prometheus's text exposition format (0.0.4), for tests: every sample line must parse, and
// every sample must belong to a family declared by a TYPE line before it.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  /** Family name → type (counter, gauge, histogram...). */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
  /** The samples named `name` whose labels include every pair of `match`. */
  find(name: string, match?: Readonly<Record<string, string>>): Sample[];
  /** The sum of those samples' values (0 when none). */
  sum(name: string, match?: Readonly<Record<string, string>>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const at = LABEL.lastIndex;
      const l = LABEL.exec(body);
      if (l === null) throw new Error(`bad labels at ${at}: ${JSON.stringify(body)}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const name = m[1]!;
    const family = types.has(name) ? name : HISTOGRAM_SUFFIXES.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : '')).find((f) => types.get(f) === 'histogram');
    if (family === undefined) throw new Error(`sample ${name} has no TYPE line before it`);
    // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes `Nan`).
    const raw = m[3]!.toLowerCase();
    const value = raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`bad value: ${JSON.stringify(line)}`);
    samples.push({ name, labels, value });
  }
  const find = (name: string, match: Readonly<Record<string, string>> = {}): Sample[] =>
    samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return { types, samples, find, sum: (name, match) => find(name, match).reduce((n, s) => n + s.value, 0) };
}

/** Non-base units and abbreviations that `promtool check metrics` (promlint) reports in a metric name. */
const NON_BASE_UNITS = ['milliseconds', 'microseconds', 'nanoseconds', 'minutes', 'hours', 'days', 'kilobytes', 'megabytes', 'gigabytes', 'percent'];
const ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];

/**
 * The problems `promtool check metrics` would report, by its lint rules: a missing HELP, a counter without
 * `_total`, `_bucket`/`_count`/`_sum` on what is not a histogram, camelCase or colons in a name, the metric type
 * in a name, units that are not base units, unit abbreviations, a label named `le` outside a histogram.
 */
export function lintMetrics(text: string): string[] {
  const problems: string[] = [];
  const help = new Set<string>();
  const exposition = parsePrometheusText(text);
  for (const line of text.split('\n')) if (line.startsWith('# HELP ')) help.add(line.slice(7).split(' ')[0]!);
  for (const [name, type] of exposition.types) {
    const words = name.split('_');
    if (!help.has(name)) problems.push(`${name}: no help text`);
    if (type === 'counter' && !name.endsWith('_total')) problems.push(`${name}: counter metrics should have "_total" suffix`);
    if (type !== 'histogram' && type !== 'summary' && /_(bucket|count|sum)$/.test(name)) problems.push(`${name}: non-histogram and non-summary metrics should not have a reserved suffix`);
    if (/[A-Z]/.test(name) || name.includes(':')) problems.push(`${name}: metric names should be snake_case without colons`);
    if (words.includes(type)) problems.push(`${name}: metric name should not include type '${type}'`);
    for (const unit of NON_BASE_UNITS) if (words.includes(unit)) problems.push(`${name}: use base unit instead of ${unit}`);
    for (const abbr of ABBREVIATIONS) if (words.includes(abbr)) problems.push(`${name}: metric names should not contain abbreviated units (${abbr})`);
  }
  for (const sample of exposition.samples) {
    if ('le' in sample.labels && !sample.name.endsWith('_bucket')) problems.push(`${sample.name}: le is a reserved label`);
    for (const label of Object.keys(sample.labels)) if (!/^[a-z_][a-z0-9_]*$/.test(label)) problems.push(`${sample.name}: label ${label} is not snake_case`);
  }
  return [...new Set(problems)];
}
