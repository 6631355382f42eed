// Which rows of a labelled JSONL file the shipped model gets wrong, for whoever writes training data:
//
//   node plugins/guard/model/misses.ts corpus/written/zh.jsonl [--threshold 0.5]
//
// Each line is `{"text", "label": "injection" | "benign", ...}`; the language is the file's name unless a row says.
// Prints the missed attacks and the blocked benign rows with their scores, then the counts.

import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createPromptInjectionScanner, PROMPT_INJECTION_MODEL_THRESHOLD } from '../scanners/prompt-injection.ts';
import { labelledRows } from './evaluate.ts';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { threshold: { type: 'string' } } });
const threshold = values.threshold === undefined ? PROMPT_INJECTION_MODEL_THRESHOLD : Number(values.threshold);
const scanner = createPromptInjectionScanner({ threshold });
for (const file of positionals) {
  const rows = labelledRows(file);
  let missed = 0;
  let blocked = 0;
  for (const row of rows) {
    const verdict = scanner.scan(row.text);
    const wrong = row.label === 'injection' ? !verdict.flagged : verdict.flagged;
    if (!wrong) continue;
    if (row.label === 'injection') missed++;
    else blocked++;
    console.log(`${row.label === 'injection' ? 'MISSED ' : 'BLOCKED'} ${verdict.score.toFixed(2)} ${row.lang ?? basename(file, '.jsonl')} ${JSON.stringify(row.text.slice(0, 300))}`);
  }
  const attacks = rows.filter((r) => r.label === 'injection').length;
  console.log(`${file}: attacks caught ${attacks - missed}/${attacks}, benign blocked ${blocked}/${rows.length - attacks} (threshold ${threshold})`);
}
