// The `llm_guard:` section teams wrote for their LiteLLM hooks, turned into built-in guard plugins.
//
//   llm_guard:
//     enabled: true
//     input_scanning:
//       enabled: true
//       messages: last_user                # Sluice's additions: each scanner's default otherwise
//       max_scan_chars: 262144             #   the most text each guard reads in a request (not TokenLimit)
//       on_oversize: block                 #   past it: block | truncate
//       action: monitor                    #   every input guard: block (default) | log | monitor
//       scanners:
//         - { PromptInjection: { threshold: 0.6, routes: [{ models: ["gpt-4o*"], action: monitor }] } }
//         - Secrets
//         - { type: TokenLimit, params: { limit: 4096 } }
//     output_scanning:
//       enabled: true
//       scanners: [NoRefusal, { MaliciousURLs: { threshold: 0.6 } }]
//     api_base: http://llm-guard:8000      # optional: also send text to an LLM Guard API server
//     api_key: os.environ/LLM_GUARD_TOKEN
//
// A scanner is a name, `{ type, params }` (LLM Guard API's scanners.yml) or `{ Name: params }`. Names Sluice has
// no built-in for (Anonymize, Language, ...) load with a warning: they run only on the remote engine.

import type { PluginEntry } from '../../core/plugin/api.ts';

type Params = Record<string, unknown>;

interface Mapping {
  readonly plugin: string;
  /** A parameter without which the scanner means nothing (BanSubstrings' list). */
  readonly needs?: string;
  /** Measures the whole text (a token count), so takes no scan cap. */
  readonly wholeText?: boolean;
  /** LLM Guard's parameters → the plugin's options. */
  options(params: Params): Record<string, unknown>;
}

const threshold = (p: Params): Record<string, unknown> => (typeof p['threshold'] === 'number' ? { threshold: p['threshold'] } : {});

function banSubstrings(direction: 'input' | 'output'): Mapping {
  return {
    plugin: `guard.${direction}.ban_substrings`,
    needs: 'substrings',
    options: (p) => ({
      substrings: p['substrings'],
      ...(p['match_type'] === 'word' ? { match: 'word' } : p['match_type'] === 'str' ? { match: 'substring' } : {}),
      ...(typeof p['case_sensitive'] === 'boolean' ? { case_sensitive: p['case_sensitive'] } : {}),
      ...(p['redact'] === true && direction === 'input' ? { action: 'redact' } : {}),
    }),
  };
}

const INPUT: Readonly<Record<string, Mapping>> = {
  PromptInjection: { plugin: 'guard.input.prompt_injection', options: threshold },
  Toxicity: { plugin: 'guard.input.toxicity', options: threshold },
  // LLM Guard's Secrets redacts in place; a `redact_mode` says the team wants that rather than a block.
  Secrets: { plugin: 'guard.input.secrets', options: (p) => (typeof p['redact_mode'] === 'string' ? { action: 'redact' } : {}) },
  BanSubstrings: banSubstrings('input'),
  TokenLimit: {
    plugin: 'guard.input.token_limit',
    wholeText: true,
    // LLM Guard's defaults: 4096 tokens of cl100k_base.
    options: (p) => ({
      limit: typeof p['limit'] === 'number' ? p['limit'] : 4096,
      encoding: p['encoding_name'] === 'o200k_base' ? 'o200k_base' : 'cl100k_base',
    }),
  },
};

const OUTPUT: Readonly<Record<string, Mapping>> = {
  NoCode: { plugin: 'guard.output.no_code', options: threshold },
  MaliciousURLs: { plugin: 'guard.output.malicious_urls', options: threshold },
  Toxicity: { plugin: 'guard.output.toxicity', options: threshold },
  BanSubstrings: banSubstrings('output'),
  NoRefusal: { plugin: 'guard.output.no_refusal', options: threshold },
};

export interface LlmGuardEntries {
  readonly entries: PluginEntry[];
  readonly warnings: string[];
}

/** The plugin entries an `llm_guard:` section stands for (none when it is absent or `enabled: false`). */
export function llmGuardEntries(section: unknown): LlmGuardEntries {
  const entries: PluginEntry[] = [];
  const warnings: string[] = [];
  if (typeof section !== 'object' || section === null) return { entries, warnings };
  const s = section as Record<string, unknown>;
  if (s['enabled'] === false) return { entries, warnings };
  const remote = typeof s['api_base'] === 'string' ? (s['api_base'] as string) : null;
  for (const [key, table, direction] of [
    ['input_scanning', INPUT, 'input'],
    ['output_scanning', OUTPUT, 'output'],
  ] as const) {
    const part = s[key] as { enabled?: unknown; scanners?: unknown; messages?: unknown; max_scan_chars?: unknown; on_oversize?: unknown; action?: unknown } | undefined;
    if (part === undefined || part === null || part.enabled === false) continue;
    const scanners = Array.isArray(part.scanners) ? part.scanners : [];
    scanners.forEach((item: unknown, i) => {
      const parsed = parseScanner(item);
      if (parsed === null) {
        warnings.push(`llm_guard.${key}.scanners[${i}]: expected a scanner name, { type, params } or { Name: params }; ignored`);
        return;
      }
      const mapping = table[parsed.name];
      if (mapping === undefined) {
        warnings.push(
          `llm_guard.${key}.scanners[${i}]: ${parsed.name} has no built-in ${direction} scanner${remote === null ? '; ignored (set llm_guard.api_base to run it on an LLM Guard API server)' : '; it runs on the LLM Guard API server only'}`,
        );
        return;
      }
      if (mapping.needs !== undefined && parsed.params[mapping.needs] === undefined) {
        warnings.push(`llm_guard.${key}.scanners[${i}]: ${parsed.name} needs params.${mapping.needs}; ignored`);
        return;
      }
      const options = mapping.options(parsed.params);
      if (direction === 'input' && typeof part.messages === 'string') options['messages'] = part.messages;
      // Sluice's additions, passed on as written (the plugin's schema reports a bad value): a section-wide action
      // (a scanner's own `redact` wins) and per-route thresholds.
      if (direction === 'input' && part.action !== undefined && options['action'] === undefined) options['action'] = part.action;
      if (direction === 'input' && parsed.params['routes'] !== undefined) options['routes'] = parsed.params['routes'];
      // Passed on as written: the plugin's schema reports a bad value.
      if (direction === 'input' && mapping.wholeText !== true) {
        if (part.max_scan_chars !== undefined) options['max_scan_chars'] = part.max_scan_chars;
        if (part.on_oversize !== undefined) options['on_oversize'] = part.on_oversize;
      }
      entries.push({ name: mapping.plugin, options });
    });
  }
  if (remote !== null) {
    const token = typeof s['api_key'] === 'string' ? s['api_key'] : typeof s['token'] === 'string' ? s['token'] : undefined;
    const inputOn = (s['input_scanning'] as { enabled?: unknown } | undefined)?.enabled !== false;
    const outputOn = (s['output_scanning'] as { enabled?: unknown } | undefined)?.enabled !== false;
    entries.push({
      name: 'guard.llm_guard_api',
      options: {
        url: remote,
        ...(token === undefined ? {} : { token }),
        ...(typeof s['timeout'] === 'number' ? { timeout_ms: Math.round((s['timeout'] as number) * 1000) } : {}),
        ...(s['fail'] === 'open' || s['fail'] === 'closed' ? { fail: s['fail'] } : {}),
        input: inputOn,
        output: outputOn,
      },
    });
  }
  return { entries, warnings };
}

function parseScanner(item: unknown): { name: string; params: Params } | null {
  if (typeof item === 'string' && item !== '') return { name: item, params: {} };
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return null;
  const o = item as Record<string, unknown>;
  if (typeof o['type'] === 'string') return { name: o['type'], params: isParams(o['params']) ? o['params'] : {} };
  const keys = Object.keys(o);
  if (keys.length !== 1) return null;
  const value = o[keys[0]!];
  return { name: keys[0]!, params: isParams(value) ? value : {} };
}

function isParams(value: unknown): value is Params {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
