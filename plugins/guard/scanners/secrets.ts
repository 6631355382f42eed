// secrets: API keys, tokens, private keys and passwords, by the rules in ../secrets-rules.json (data, not code:
// add a provider there). Matching runs on the original text: secrets are case-sensitive and their punctuation
// matters. Each candidate must pass an entropy check (bits per character of the key's random part) and must not
// look like a placeholder ("sk-xxxxxxxx…", "AKIAIOSFODNN7EXAMPLE", "<your-api-key>", "${TOKEN}").
//
// `redact(text, matches)` replaces each span with `[REDACTED:<rule>]`.

import { readFileSync } from 'node:fs';
import type { ScanMatch, ScanResult, Scanner } from '../types.ts';

export interface SecretRule {
  id: string;
  description: string;
  regex: string;
  flags?: string;
  /** Least Shannon entropy (bits per character) of the `body` group, else `secret`, else the whole match. */
  entropy?: number;
  /** One of these (case-insensitive) must occur within `keywordWindow` characters before the match. */
  keywords?: string[];
  keywordWindow?: number;
  /** The rule runs only when the lower-cased text contains one of these. */
  prefilter?: string[];
  /** The secret must mix at least this many of: lower case, upper case, digits, other characters. */
  minClasses?: number;
  /** Skip values that read as code rather than a secret (`request.form.password`, `self.api_key`). */
  notIdentifier?: boolean;
}

export interface SecretsOptions {
  /** Flag at this score. A secret scores 1, so any threshold in (0, 1] flags on the first secret. Default 0.5. */
  threshold?: number;
  /** Only these rule ids (default: all). */
  rules?: readonly string[];
  /** Rules to use instead of secrets-rules.json (for tests, or a custom set). */
  ruleSet?: readonly SecretRule[];
}

interface Compiled {
  rule: SecretRule;
  re: RegExp;
  prefilter: readonly string[];
}

const RULES_PATH = new URL('../secrets-rules.json', import.meta.url);

/** The rules shipped in secrets-rules.json. */
export function loadSecretRules(): SecretRule[] {
  const parsed = JSON.parse(readFileSync(RULES_PATH, 'utf8')) as { rules: SecretRule[] };
  return parsed.rules;
}

/** Shannon entropy of `s` in bits per character, white space ignored. */
export function shannonEntropy(s: string): number {
  const counts = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    counts.set(c, (counts.get(c) ?? 0) + 1);
    total++;
  }
  if (total === 0) return 0;
  let h = 0;
  for (const n of counts.values()) {
    const p = n / total;
    h -= p * Math.log2(p);
  }
  return h;
}

const PLACEHOLDER_WORDS = /example|xxxx|\*\*\*\*|your[_-]?|<|>|\$\{|\{\{|placeholder|changeme|change[_-]?me|dummy|sample|redacted|insert|replace|fake|secret[_-]?here|key[_-]?here|token[_-]?here|password[_-]?here|^password$|^pass(word)?\d*$|^secret$|^(my)?secret(key)?$|^admin$|^root$|^null$|^undefined$|^none$|^true$|^false$|process\.env|os\.environ|getenv/i;

/** A value that reads as a stand-in for a secret rather than a secret. */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER_WORDS.test(value)) return true;
  // A long run of one character ("aaaaaaaa", "00000000") or a long ascending run ("abcdefgh", "12345678"). Not
  // for long values: a real private key block has runs of A.
  if (value.length > 128) return false;
  let same = 1;
  let ascending = 1;
  for (let i = 1; i < value.length; i++) {
    const d = value.charCodeAt(i) - value.charCodeAt(i - 1);
    same = d === 0 ? same + 1 : 1;
    ascending = d === 1 ? ascending + 1 : 1;
    if (same >= 8 || ascending >= 8) return true;
  }
  return false;
}

function compile(rules: readonly SecretRule[]): Compiled[] {
  return rules.map((rule) => {
    let re: RegExp;
    try {
      re = new RegExp(rule.regex, `${rule.flags ?? ''}gd`);
    } catch (err) {
      throw new Error(`secrets rule ${rule.id}: ${(err as Error).message}`);
    }
    return { rule, re, prefilter: (rule.prefilter ?? []).map((p) => p.toLowerCase()) };
  });
}

export function createSecretsScanner(options: SecretsOptions = {}): Scanner {
  const threshold = options.threshold ?? 0.5;
  if (!(threshold > 0 && threshold <= 1)) throw new Error('secrets: threshold must be in (0, 1]');
  let rules = options.ruleSet ?? loadSecretRules();
  if (options.rules !== undefined) {
    const wanted = new Set(options.rules);
    for (const id of wanted) if (!rules.some((r) => r.id === id)) throw new Error(`secrets: unknown rule "${id}"`);
    rules = rules.filter((r) => wanted.has(r.id));
  }
  const compiled = compile(rules);
  // All prefilter literals in one regex: one pass over the text tells which rules can match at all.
  const literals = [...new Set(compiled.flatMap((c) => c.prefilter))].sort((a, b) => b.length - a.length);
  const prefilterRe = literals.length > 0 ? new RegExp(literals.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : null;

  return {
    name: 'secrets',
    scan(text: string): ScanResult {
      const matches: ScanMatch[] = [];
      if (text.length < 8) return { score: 0, flagged: false, matches };
      const lower = text.toLowerCase();
      const present = new Set<string>();
      if (prefilterRe !== null) {
        prefilterRe.lastIndex = 0;
        let f: RegExpExecArray | null;
        while ((f = prefilterRe.exec(lower)) !== null) {
          present.add(f[0]);
          prefilterRe.lastIndex = f.index + 1; // overlapping literals ("private key" and "key") all count
        }
      }
      for (const { rule, re, prefilter } of compiled) {
        if (prefilter.length > 0 && !prefilter.some((p) => present.has(p))) continue;
        re.lastIndex = 0;
        let m: RegExpExecArray | null;
        while ((m = re.exec(text)) !== null) {
          if (m[0].length === 0) {
            re.lastIndex++;
            continue;
          }
          const indices = m.indices;
          const secretSpan = indices?.groups?.['secret'] ?? indices?.[0] ?? [m.index, m.index + m[0].length];
          const [start, end] = secretSpan;
          const secret = text.slice(start, end);
          const body = m.groups?.['body'] ?? secret;
          if (overlaps(matches, start, end)) continue;
          if (isPlaceholder(secret)) continue;
          if (rule.entropy !== undefined && shannonEntropy(body) < rule.entropy) continue;
          if (rule.minClasses !== undefined && characterClasses(secret) < rule.minClasses) continue;
          if (rule.notIdentifier === true && IDENTIFIER.test(secret)) continue;
          if (rule.keywords !== undefined && rule.keywords.length > 0) {
            const window = lower.slice(Math.max(0, m.index - (rule.keywordWindow ?? 80)), m.index);
            if (!rule.keywords.some((k) => window.includes(k.toLowerCase()))) continue;
          }
          matches.push({ rule: rule.id, start, end });
        }
      }
      matches.sort((a, b) => a.start - b.start);
      const score = matches.length > 0 ? 1 : 0;
      return { score, flagged: score >= threshold, matches };
    },
  };
}

/** `a.b`, `self.api_key`, `request.form.get`, `getenv`: code, not a value. */
const IDENTIFIER = /^(?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*$|^[a-z]+(?:[A-Z][a-z]+)+$/;

function characterClasses(s: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
    else other = 1;
  }
  return lower + upper + digit + other;
}

function overlaps(matches: readonly ScanMatch[], start: number, end: number): boolean {
  for (const m of matches) if (start < m.end && m.start < end) return true;
  return false;
}

/**
 * `text` with every span replaced by `[REDACTED:<rule>]`. Overlapping or touching spans are merged; the first
 * one names the merged span.
 */
export function redact(text: string, matches: readonly ScanMatch[]): string {
  if (matches.length === 0) return text;
  const sorted = [...matches].filter((m) => m.end > m.start).sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: ScanMatch[] = [];
  for (const m of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && m.start < last.end) last.end = Math.max(last.end, m.end);
    else merged.push({ rule: m.rule, start: m.start, end: m.end });
  }
  let out = '';
  let at = 0;
  for (const m of merged) {
    out += text.slice(at, m.start) + `[REDACTED:${m.rule}]`;
    at = m.end;
  }
  return out + text.slice(at);
}
