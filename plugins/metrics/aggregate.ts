// One scrape for all worker processes (`server.workers`): each worker's text exposition, merged into one. Counters,
// histograms and most gauges (requests in flight, memory) are summed, as prom-client's AggregatorRegistry does for
// node:cluster; the gauges below are not, because a sum of them means nothing. The families keep the order of the
// first exposition, and each sample the first place it was seen.

type Merge = 'sum' | 'min' | 'max' | 'average' | 'first';

/** Gauges merged other than by summing (by family name); prom-client's default metrics use the same choices. */
const GAUGE_MERGE: Readonly<Record<string, Merge>> = {
  // What the backend said is left (each worker sees its own answers): the least is the one to act on.
  litellm_remaining_requests_metric: 'min',
  litellm_remaining_tokens_metric: 'min',
  litellm_remaining_api_key_budget_metric: 'min',
  litellm_api_key_max_budget_metric: 'max',
  litellm_remaining_team_budget_metric: 'min',
  litellm_team_max_budget_metric: 'max',
  // 0 healthy, 1 cooling down, 2 unhealthy: the worst a worker sees.
  litellm_deployment_state: 'max',
  sluice_store_health: 'max',
  process_start_time_seconds: 'min',
  process_max_fds: 'max',
  nodejs_version_info: 'first',
  nodejs_eventloop_lag_seconds: 'average',
  nodejs_eventloop_lag_min_seconds: 'min',
  nodejs_eventloop_lag_max_seconds: 'max',
  nodejs_eventloop_lag_mean_seconds: 'average',
  nodejs_eventloop_lag_stddev_seconds: 'average',
  nodejs_eventloop_lag_p50_seconds: 'average',
  nodejs_eventloop_lag_p90_seconds: 'average',
  nodejs_eventloop_lag_p99_seconds: 'average',
};

interface Family {
  help: string | null;
  type: string | null;
  /** Sample key (name and labels as written) → the values from each exposition. */
  samples: Map<string, number[]>;
}

/** The Prometheus text exposition (0.0.4) of every worker, merged into one. */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  /** Sample name → family: histograms' `_bucket`, `_sum` and `_count` belong to their family. */
  const owner = new Map<string, string>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { help: null, type: null, samples: new Map() };
      families.set(name, f);
    }
    return f;
  };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
        if (meta === null) continue;
        const f = family(meta[2]!);
        if (meta[1] === 'HELP') f.help ??= meta[3]!;
        else f.type ??= meta[3]!;
        continue;
      }
      const sample = parseSample(line);
      if (sample === null) continue;
      let name = owner.get(sample.name);
      if (name === undefined) {
        name = familyOf(sample.name, families);
        owner.set(sample.name, name);
      }
      const values = family(name).samples;
      const list = values.get(sample.key);
      if (list === undefined) values.set(sample.key, [sample.value]);
      else list.push(sample.value);
    }
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    if (f.samples.size === 0 && f.type === null) continue;
    if (f.help !== null) out.push(`# HELP ${name} ${f.help}`);
    if (f.type !== null) out.push(`# TYPE ${name} ${f.type}`);
    const merge: Merge = f.type === 'gauge' ? (GAUGE_MERGE[name] ?? 'sum') : 'sum';
    for (const [key, values] of f.samples) out.push(`${key} ${formatValue(combine(values, merge))}`);
    out.push('');
  }
  return out.join('\n');
}

/** The family a sample belongs to: itself if declared, else the declared name it extends by a histogram suffix. */
function familyOf(sample: string, families: ReadonlyMap<string, Family>): string {
  if (families.has(sample)) return sample;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (sample.endsWith(suffix) && families.has(sample.slice(0, -suffix.length))) return sample.slice(0, -suffix.length);
  }
  return sample;
}

/** `name{labels} value [timestamp]`: the key is the name with its labels exactly as written. */
function parseSample(line: string): { name: string; key: string; value: number } | null {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  const name = line.slice(0, i);
  if (line[i] === '{') {
    // Label values are quoted and may hold `}` or an escaped quote.
    let quoted = false;
    for (i++; i < line.length; i++) {
      const c = line[i];
      if (quoted && c === '\\') i++;
      else if (c === '"') quoted = !quoted;
      else if (c === '}' && !quoted) break;
    }
    i++;
  }
  const key = line.slice(0, i);
  const value = parseValue(line.slice(i).trim().split(' ')[0] ?? '');
  return name === '' || value === null ? null : { name, key, value };
}

function parseValue(text: string): number | null {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  return text === '' || Number.isNaN(n) ? null : n;
}

function combine(values: readonly number[], merge: Merge): number {
  switch (merge) {
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'first':
      return values[0]!;
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
  }
}

function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
