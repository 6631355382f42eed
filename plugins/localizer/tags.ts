// Language tags: Accept-Language (RFC 9110 §12.5.4) and RFC 4647 §3.4 lookup, with Chinese mapped to scripts.
//
// Shared by detect.ts (negotiate, chooseLanguage) and catalogue.ts (the fallback chain of a message).

/**
 * The tags to try for one language range, most specific first: RFC 4647 truncation (de-CH-1996 → de-CH → de),
 * with Chinese regions and bare zh mapped to scripts: zh-TW, zh-HK, zh-MO, yue → zh-Hant; zh-CN, zh-SG, zh-MY
 * and plain zh → zh-Hans. A range that names Traditional (by script or region) never falls back to Simplified,
 * nor the other way round. Lower case.
 */
export function lookupChain(range: string): string[] {
  const subtags = range.toLowerCase().split(/[-_]/).filter((s) => s !== '');
  if (subtags.length === 0) return [];
  const chain: string[] = [];
  for (let n = subtags.length; n > 0; n--) {
    // A truncation never ends with a single-letter subtag (an extension or private-use marker).
    if (subtags[n - 1]!.length === 1) continue;
    chain.push(subtags.slice(0, n).join('-'));
  }
  const primary = subtags[0]!;
  if (primary !== 'zh' && primary !== 'cmn' && primary !== 'yue') return chain;
  const script = chineseScript(subtags, primary);
  const chinese = chain.filter((tag) => tag !== 'zh' && tag !== script);
  chinese.push(script);
  if (script === 'zh-hans') chinese.push('zh');
  return chinese;
}

function chineseScript(subtags: readonly string[], primary: string): 'zh-hans' | 'zh-hant' {
  if (subtags.includes('hant')) return 'zh-hant';
  if (subtags.includes('hans')) return 'zh-hans';
  if (primary === 'yue' || subtags.some((s) => s === 'tw' || s === 'hk' || s === 'mo')) return 'zh-hant';
  return 'zh-hans';
}

/** The supported tag (as written in `supported`) that RFC 4647 lookup finds for one range, or null. */
export function lookup(range: string, supported: readonly string[]): string | null {
  for (const candidate of lookupChain(range)) {
    const found = supported.find((tag) => tag.toLowerCase() === candidate);
    if (found !== undefined) return found;
  }
  return null;
}

interface WeightedRange {
  readonly range: string;
  readonly q: number;
}

/** Parses Accept-Language: ranges with their q, best first (stable for equal q). Malformed entries are skipped. */
export function parseAcceptLanguage(header: string): WeightedRange[] {
  const ranges: WeightedRange[] = [];
  for (const part of header.split(',')) {
    const [rawRange, ...params] = part.split(';');
    const range = rawRange!.trim();
    if (!/^(?:\*|[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*)$/.test(range)) continue;
    let q = 1;
    let valid = true;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?)\s*$/i.exec(param);
      if (match === null) {
        if (/^\s*q\s*=/i.test(param)) valid = false;
        continue;
      }
      q = Number(match[1]);
      if (q > 1) valid = false;
    }
    if (valid) ranges.push({ range, q });
  }
  return ranges.sort((a, b) => b.q - a.q); // stable: header order for equal q
}

/**
 * The best of `supported` for an Accept-Language header, or null (then the caller uses its default).
 * Ranges are tried by q (header order for ties) with RFC 4647 lookup; q=0 ranges exclude what they name, and `*`
 * leaves the choice to the caller.
 */
export function negotiate(acceptLanguage: string | undefined, supported: readonly string[]): string | null {
  if (acceptLanguage === undefined || acceptLanguage.trim() === '') return null;
  const ranges = parseAcceptLanguage(acceptLanguage);
  const refused = new Set<string>();
  for (const { range, q } of ranges) {
    if (q === 0 && range !== '*') {
      const found = supported.find((tag) => tag.toLowerCase() === lookupChain(range)[0]);
      if (found !== undefined) refused.add(found);
    }
  }
  for (const { range, q } of ranges) {
    if (q === 0 || range === '*') continue;
    const found = lookup(range, supported);
    if (found !== null && !refused.has(found)) return found;
  }
  return null;
}
