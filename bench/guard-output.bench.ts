// Output scanners (malicious_urls, no_code, no_refusal): quality on Sluice's own evaluation splits, and time per
// 4 KB answer.
//
//   npm run bench:guard-output        evaluate and time; exit 1 if a target is missed
//
// Data: plugins/guard/data/output/ (see its README). Each set has a dev split, which the rules were tuned on, and a
// test split, written separately and never tuned on; the tables say which is which. The headline is the test split.
// With the shared data sets next to the repository ($SLUICE_DATASETS or ../shared/datasets), no_refusal is also
// reported on XSTest's English model answers (refusals.jsonl), on which the older English rules were written.
//
// Time: 206 answers of 4 KB in eight languages, each scanned by a fresh scanner (no warm host cache); an answer's
// cost is its best of 7 runs, and the target is the p99 of those costs (under 1 ms per scanner). tinybench's raw
// per-call p99, which on a shared machine is mostly other processes' time slices, is printed beside it.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { figures, figuresByLang, loadSplit, POSITIVE, TARGETS, type EvalRow, type Figures, type OutputSet, type Split } from '../plugins/guard/data/output/evaluate.ts';
import { createMaliciousUrlsScanner, MALICIOUS_URLS_DEFAULT_THRESHOLD } from '../plugins/guard/scanners/malicious-urls.ts';
import { createNoCodeScanner, NO_CODE_DEFAULT_THRESHOLD } from '../plugins/guard/scanners/no-code.ts';
import { createNoRefusalScanner, NO_REFUSAL_DEFAULT_THRESHOLD } from '../plugins/guard/scanners/no-refusal.ts';
import type { Scanner } from '../plugins/guard/types.ts';

/** Each scanner's p99 on a 4 KB answer. */
const P99_MS = 1;

// The same order as SETS.
const SCANNERS: Readonly<Record<OutputSet, { name: string; scanner: Scanner; threshold: number }>> = {
  urls: { name: 'malicious_urls', scanner: createMaliciousUrlsScanner(), threshold: MALICIOUS_URLS_DEFAULT_THRESHOLD },
  code: { name: 'no_code', scanner: createNoCodeScanner(), threshold: NO_CODE_DEFAULT_THRESHOLD },
  refusals: { name: 'no_refusal', scanner: createNoRefusalScanner(), threshold: NO_REFUSAL_DEFAULT_THRESHOLD },
};
const SETS: readonly OutputSet[] = ['urls', 'code', 'refusals'];
const SPLIT_NAME: Readonly<Record<Split, string>> = {
  dev: 'dev (tuned on: in-sample)',
  test: 'test (held out when written; its misses were later fixed as families)',
  fresh: 'fresh (by an outside author; its misses were fixed as families: in-sample now)',
  fresh2: 'fresh2 (by an outside author; scored once, then its misses were fixed as families: in-sample now)',
  fresh3: 'fresh3 (by an outside author, scored once after the last rule change: the honest figure)',
};
/**
 * The splits the targets hold on: every split but dev. All but fresh3 have been looked at (fresh2 after its one
 * blind score: no_code 0.867, no_refusal 0.805); fresh3 was written apart and scored once after the last change.
 */
const HELD_OUT: readonly Split[] = ['test', 'fresh', 'fresh2', 'fresh3'];
const ALL_SPLITS: readonly Split[] = ['dev', 'test', 'fresh', 'fresh2', 'fresh3'];

const verdicts: { target: string; value: string; pass: boolean }[] = [];
const f3 = (v: number): string => v.toFixed(3);
const ratio = (a: number, b: number): string => `${a}/${b}`;

function row(label: string, f: Figures): Record<string, string | number> {
  const positives = f.tp + f.fn;
  const negatives = f.fp + f.tn;
  return { '': label, rows: f.rows, accuracy: f3(f.accuracy), recall: `${f3(f.recall)} (${ratio(f.tp, positives)})`, 'false positives': `${f3(f.fpr)} (${ratio(f.fp, negatives)})` };
}

function quality(): void {
  for (const set of SETS) {
    const { name, scanner, threshold } = SCANNERS[set];
    console.log(`\n${name} (threshold ${threshold}), positive label "${POSITIVE[set]}"`);
    const rows: Record<string, string | number>[] = [];
    for (const split of ALL_SPLITS) rows.push(row(SPLIT_NAME[split], figures(loadSplit(set, split), POSITIVE[set], scanner)));
    console.table(rows);
    const test = loadSplit(set, 'test');
    const misses: EvalRow[] = [];
    for (const split of HELD_OUT) {
      const f = figures(loadSplit(set, split), POSITIVE[set], scanner);
      misses.push(...f.misses);
      verdicts.push({ target: `${name} accuracy ≥ ${TARGETS.accuracy} on the ${split} split (held out)`, value: f3(f.accuracy), pass: f.accuracy >= TARGETS.accuracy });
    }
    if (set === 'refusals') {
      for (const split of ALL_SPLITS) {
        console.log(`${name} per language, ${SPLIT_NAME[split]}`);
        const byLang = figuresByLang(loadSplit(set, split), POSITIVE[set], scanner);
        console.table([...byLang].map(([lang, g]) => row(lang, g)));
        if (split !== 'dev') {
          for (const [lang, g] of byLang) {
            verdicts.push({ target: `${name} accuracy ≥ ${TARGETS.refusalLanguageAccuracy} in ${lang} (${split}, held out)`, value: f3(g.accuracy), pass: g.accuracy >= TARGETS.refusalLanguageAccuracy });
          }
        }
      }
    } else {
      console.log(`${name} recall by kind of positive, ${SPLIT_NAME.test}`);
      const kinds = new Map<string, EvalRow[]>();
      for (const r of test) if (r.label === POSITIVE[set]) kinds.set(r.kind, [...(kinds.get(r.kind) ?? []), r]);
      console.table([...kinds].map(([kind, rs]) => ({ kind, caught: ratio(rs.filter((r) => scanner.scan(r.text).flagged).length, rs.length) })));
    }
    if (misses.length > 0) {
      console.log(`${name}: held-out rows it gets wrong`);
      for (const m of misses) console.log(`  [${m.label}/${m.kind}/${m.lang}] ${m.text.slice(0, 100).replace(/\n/g, '⏎')}`);
    }
  }
  const dir = process.env['SLUICE_DATASETS'] ?? fileURLToPath(new URL('../../shared/datasets/', import.meta.url));
  const xstest = `${dir}/refusals.jsonl`;
  if (existsSync(xstest)) {
    const rows = readFileSync(xstest, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { text: string; label: string });
    const f = figures(
      rows.map((r) => ({ ...r, lang: 'en', kind: 'xstest' })),
      'refusal',
      SCANNERS.refusals.scanner,
    );
    const precision = f.tp / Math.max(1, f.tp + f.fp);
    const f1 = (2 * precision * f.recall) / Math.max(1e-9, precision + f.recall);
    console.log('\nno_refusal on XSTest answers by Mistral-7B-Instruct (refusals.jsonl; the older English rules were written on it: in-sample)');
    console.table([{ ...row('refusals.jsonl', f), precision: f3(precision), F1: f3(f1) }]);
  }
}

// ---------------------------------------------------------------------------------------------------- time

/** 4 KB answers: the evaluation rows of every set and language, shuffled into prose, so every rule family runs. */
function answers(): string[] {
  const rows = SETS.flatMap((set) => [...loadSplit(set, 'dev'), ...loadSplit(set, 'test')]);
  const out: string[] = [];
  for (let variant = 0; variant < 200; variant++) {
    let text = '';
    for (let k = 0; text.length < 4096; k++) text += `${rows[(k * 37 + variant * 11) % rows.length]!.text}\n\n`;
    out.push(text.slice(0, 4096));
  }
  // Single-script answers: the CJK anchors (お, ご, 지, 我) and the Cyrillic regexes at their busiest.
  const byLang = (lang: string): string => {
    const texts = rows.filter((r) => r.lang === lang).map((r) => r.text);
    let text = '';
    for (let k = 0; text.length < 4096; k++) text += texts[k % texts.length];
    return text.slice(0, 4096);
  };
  for (const lang of ['ja', 'ko', 'zh', 'ru', 'ar', 'vi']) out.push(byLang(lang));
  return out;
}

/**
 * Each answer's cost as the best of REPEAT runs (what the scanner costs on that input, without the pauses a shared
 * machine adds), then the p50 and p99 over all answers. This p99 is the target; tinybench's raw per-call
 * percentiles, pauses included, are printed beside it for information.
 */
const REPEAT = 7;

function costPerAnswer(make: () => Scanner, texts: readonly string[]): { p50: number; p99: number } {
  const costs: number[] = [];
  for (const text of texts) {
    let best = Infinity;
    for (let k = 0; k < REPEAT; k++) {
      // A fresh scanner each run: malicious_urls caches hosts, and a warm cache would flatter it.
      const scanner = make();
      const start = performance.now();
      scanner.scan(text);
      const took = performance.now() - start;
      if (took < best) best = took;
    }
    costs.push(best);
  }
  costs.sort((a, b) => a - b);
  const at = (q: number): number => costs[Math.min(costs.length - 1, Math.floor(q * costs.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

async function timings(): Promise<void> {
  const texts = answers();
  let turn = 0;
  let sink = 0;
  const bench = new Bench({ time: 500, warmupTime: 200 });
  for (const set of SETS) {
    const { name, scanner } = SCANNERS[set];
    bench.add(name, () => {
      sink += scanner.scan(texts[turn++ % texts.length]!).score;
    });
  }
  bench.add('all three together', () => {
    const t = texts[turn++ % texts.length]!;
    for (const set of SETS) sink += SCANNERS[set].scanner.scan(t).score;
  });
  await bench.run();
  const makers: (() => Scanner)[] = [createMaliciousUrlsScanner, createNoCodeScanner, createNoRefusalScanner];
  const together = (): Scanner => {
    const all = makers.map((make) => make());
    return { name: 'all three together', scan: (t) => all.map((scanner) => scanner.scan(t))[0]! };
  };
  const perAnswer = [...makers, together].map((make) => costPerAnswer(make, texts));
  console.log(`\nTime per 4 KB answer (${texts.length} answers in eight languages; Node ${process.version})`);
  console.log(`"per answer": each answer's best of ${REPEAT} runs, then p50/p99 over the answers (the target). "raw": every call, the shared machine's pauses included.`);
  console.table(
    bench.tasks.map((task, i) => {
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`);
      return {
        scanner: task.name,
        'per answer p50 µs': (perAnswer[i]!.p50 * 1000).toFixed(1),
        'per answer p99 µs': (perAnswer[i]!.p99 * 1000).toFixed(1),
        'raw p50 µs': (r.latency.p50 * 1000).toFixed(1),
        'raw p99 µs': (r.latency.p99 * 1000).toFixed(1),
      };
    }),
  );
  SETS.forEach((set, i) => {
    const p99 = perAnswer[i]!.p99;
    verdicts.push({ target: `${SCANNERS[set].name} p99 < ${P99_MS} ms on a 4 KB answer (per answer)`, value: `${(p99 * 1000).toFixed(1)} µs`, pass: p99 < P99_MS });
  });
  if (sink === -1) console.log('');
}

async function main(): Promise<number> {
  console.log(`Sluice output scanners: quality on plugins/guard/data/output and time (Node ${process.version})`);
  quality();
  await timings();
  console.log('\nTargets');
  console.table(verdicts.map((v) => ({ target: v.target, value: v.value, verdict: v.pass ? 'PASS' : 'FAIL' })));
  const failed = verdicts.filter((v) => !v.pass).length;
  console.log(failed === 0 ? 'all targets met' : `${failed} target${failed === 1 ? '' : 's'} missed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
