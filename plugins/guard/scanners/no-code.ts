// no_code: flags answers that contain source code. Six kinds of evidence, found in one pass over the lines of
// the original text (punctuation and indentation are the signal, so nothing is normalised):
//
//   fenced    a Markdown fence (``` or ~~~) and what it holds, up to the closing fence or the end of the text
//             (a streamed window may hold only the opening). Fences marked text/markdown/output are judged by
//             their lines instead.
//   indented  a Markdown indented block (four spaces or a tab after a blank line) whose lines look like code
//   lines     bare code: lines that open with a construct of some language ("def f(", "#include <",
//             "public static", "SELECT … FROM", "import x from", "$ npm install", a command line whose arguments
//             look like arguments, a PowerShell cmdlet) count as strong, as does a line with three weak signals;
//             other lines are code when two weak signals agree (a statement end ; { }, an operator => == && :=,
//             a call f(x), an assignment, dense brackets). Prose that mentions "a function" has neither.
//   inline    in a line of prose in any language, code recognised by its own shape (INLINE_FAMILIES): a command
//             ("undo it with git reset --hard HEAD~1"), a program with flags ("lsof -i :8080"), a pipeline, a
//             crontab line, a SQL statement by its clauses (SELECT … FROM, UPDATE … SET … =), an expression with a
//             block, a lambda or chained calls, a call of a call, an array spread, a JavaScript declaration, a Ruby
//             range with a method, a PowerShell cmdlet with a -Parameter or a pipe, a regex literal dense with
//             metacharacters; or a `code span` that reads as code or holds a command with flags. On a line that
//             already has two weak code signals, one of these makes it strong.
//   config    two or more KEY=value lines in a row (a .env file)
//   rule      a Makefile rule: "target:" then a tab-indented line shaped like a command
//
// A JSON document (bare, not fenced) is data, not code: its lines are skipped. Lines of brackets alone add nothing.
//
// Score: each span weighs in (a fence 0.9; a run of lines 1 − 0.45^strong · 0.7^code, at most 0.95; an indented
// block counts its weak lines as code; an inline command or code span 0.55; a config block or a Makefile rule 0.6),
// and spans combine as 1 − Π(1 − w).
// Matches are the code spans.
//
// `languages` restricts the flag to code in those languages: the fence's info string says which, or the strong
// line patterns guess it; `allowLanguages` exempts those languages instead. A span whose language cannot be told
// counts half either way. JavaScript and TypeScript, and C and C++, are one family for the guess, which cannot
// tell them apart.

import type { ScanMatch, ScanResult, Scanner } from '../types.ts';

export interface NoCodeOptions {
  /** Flag at this score. Default 0.5. */
  threshold?: number;
  /** Only code in these languages counts (names or aliases from NO_CODE_LANGUAGES). Default: any code. */
  languages?: readonly string[];
  /**
   * The opposite: code in these languages does not count, any other does (LLM Guard's `Code` with
   * `is_blocked: false`). Not with `languages`.
   */
  allowLanguages?: readonly string[];
}

export const NO_CODE_DEFAULT_THRESHOLD = 0.5;

/** Language names `languages` accepts, with their aliases (fence info strings use the same). */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  python: ['py', 'python3', 'py3', 'ipython', 'pycon'],
  javascript: ['js', 'node', 'nodejs', 'jsx', 'mjs', 'cjs', 'ecmascript'],
  typescript: ['ts', 'tsx', 'mts', 'cts'],
  java: [],
  c: ['h'],
  cpp: ['c++', 'cc', 'cxx', 'hpp', 'hxx'],
  csharp: ['cs', 'c#', 'dotnet'],
  go: ['golang'],
  rust: ['rs'],
  ruby: ['rb'],
  php: [],
  sql: ['mysql', 'postgresql', 'postgres', 'psql', 'sqlite', 'plsql', 'tsql'],
  shell: ['sh', 'bash', 'zsh', 'fish', 'console', 'shell-session', 'shellsession', 'terminal', 'cmd', 'bat', 'batch'],
  powershell: ['ps1', 'pwsh', 'ps'],
  html: ['htm', 'xhtml', 'xml', 'svg', 'vue', 'svelte'],
  css: ['scss', 'sass', 'less'],
  kotlin: ['kt', 'kts'],
  swift: [],
  scala: [],
  r: [],
  perl: ['pl'],
  lua: [],
  haskell: ['hs'],
  dart: [],
  elixir: ['ex', 'exs'],
  assembly: ['asm', 'nasm', 'x86asm'],
  dockerfile: ['docker'],
  makefile: ['make'],
  json: ['jsonc', 'json5'],
  yaml: ['yml'],
  toml: [],
};

export const NO_CODE_LANGUAGES: readonly string[] = Object.keys(ALIASES);

const CANONICAL = new Map<string, string>();
for (const [name, aliases] of Object.entries(ALIASES)) {
  CANONICAL.set(name, name);
  for (const a of aliases) CANONICAL.set(a, name);
}
/** Languages the line heuristics cannot tell apart. */
const FAMILY: Readonly<Record<string, string>> = { typescript: 'javascript', cpp: 'c' };
/** Fence info strings that announce something other than code. */
const NOT_CODE_INFO = new Set(['text', 'txt', 'plaintext', 'plain', 'markdown', 'md', 'output', 'none', 'log', 'csv', 'diff', 'quote', 'email', 'mermaid', 'math', 'latex', 'tex']);

function canonical(name: string): string | undefined {
  return CANONICAL.get(name.trim().toLowerCase());
}

// ---------------------------------------------------------------------------------------------------- line patterns

interface Strong {
  re: RegExp;
  lang: string | undefined;
}

/** Strong patterns by the line's first word (lower case), tried sticky at that word. */
const BY_WORD = new Map<string, Strong[]>();
/** Strong patterns by the line's first character, for lines that open with a symbol. */
const BY_CHAR = new Map<number, Strong[]>();

function strong(keys: string, pattern: string, lang?: string, caseInsensitive = false): void {
  const re = new RegExp(pattern, caseInsensitive ? 'ymi' : 'ym');
  for (const key of keys.split(' ')) {
    if (/^[a-z_]/.test(key)) {
      const list = BY_WORD.get(key) ?? [];
      list.push({ re, lang });
      BY_WORD.set(key, list);
    } else {
      const c = key.charCodeAt(0);
      const list = BY_CHAR.get(c) ?? [];
      list.push({ re, lang });
      BY_CHAR.set(c, list);
    }
  }
}

/** Programs a command line starts with (after an optional sudo). */
const SHELL_COMMANDS =
  'apt apt-get yum dnf pacman snap brew npm npx pnpm yarn pip pip3 pipx git docker podman kubectl curl wget cd mkdir chmod chown chgrp cargo rustup rustc go python python3 node deno bun javac java gcc g++ clang make cmake ssh scp rsync tar unzip zip gzip export source conda poetry uv helm terraform systemctl journalctl ls rm cp mv ln cat grep egrep rg echo awk sed xargs find sort uniq head tail wc tee jq touch kill pkill killall nohup crontab openssl dig nslookup iptables ufw dd mount gem bundle composer mvn gradle dotnet tsc pytest psql mysql redis-cli sqlite3 mongosh aws gcloud az gh heroku powershell pwsh winget choco certutil mshta rundll32 regsvr32 bitsadmin wmic ipconfig netstat tasklist taskkill findstr xcopy robocopy del dir copy move mklink icacls reg sc schtasks net systeminfo';
const CSS_ELEMENTS = 'html body div span a p ul ol li h1 h2 h3 h4 h5 h6 table tr td th img button input form nav header footer main section article label select textarea code pre';
const SHELL_SUBCOMMAND = String.raw`(?:install|uninstall|add|remove|run|build|test|start|stop|restart|reload|enable|disable|status|init|clone|commit|push|pull|fetch|checkout|switch|merge|rebase|log|diff|ps|exec|logs|up|down|get|apply|delete|describe|create|update|upgrade|list|show|inspect|login|clean|purge|autoremove|search|prune)\b`;
/** One argument that only a command line has. */
const SHELL_ARG = String.raw`(?:-{1,2}[A-Za-z][\w-]*(?:=\S*)?|--(?=\s|$)|\+[a-z]+|[^\s'"]*[/~*$=@\\][^\s]*|\.{1,2}(?:/\S*)?|[\w-]+\.[a-z0-9]{1,5}(?=\s|$)|'[^'\n]*'|"[^"\n]*"|\||&&|>>?)`;
const POWERSHELL_VERBS =
  'Get Set New Remove Add Invoke Start Stop Restart Test Import Export Write Read Out Select Where ForEach Sort Measure Copy Move Rename Enable Disable Install Uninstall Update Clear ConvertTo ConvertFrom Format Wait Register Unregister Expand Compress Resolve Split Join Send Receive Push Pop';

// Python
strong('def', String.raw`def\s+\w+\s*\([^\n]*\)\s*(?:->\s*[^\n:]+)?:`, 'python');
strong('class', String.raw`class\s+\w+\s*(?:\([^\n]*\))?\s*:\s*$`, 'python');
strong('from', String.raw`from\s+\.{0,2}[\w.]*\s+import\s+(?:\*|\(|[\w, ]+$)`, 'python');
strong('import', String.raw`import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*\s*$`, 'python');
strong('if', String.raw`if\s+__name__\s*==`, 'python');
strong('elif except', String.raw`(?:elif|except)\b[^\n]*:\s*$`, 'python');
strong('print', String.raw`print\((?:f?["']|\w+\)?$)`, 'python');
strong('>', String.raw`>>>\s+\S`, 'python');
// JavaScript / TypeScript
strong('function async', String.raw`(?:async\s+)?function\s*\*?\s*\w*\s*\([^\n]*\)\s*(?::\s*[^\n{]+)?\{?\s*$`, 'javascript');
strong('const let var', String.raw`(?:const|let|var)\s+(?:\w+|\{[^}\n]*\}|\[[^\]\n]*\])\s*(?::\s*[^=\n]+)?=\s*[^\n]*(?:;|\{|\(|=>[^\n]*|\[)\s*$`, 'javascript');
strong('import', String.raw`import\s+(?:type\s+)?(?:[\w*{}\s,]+\s+from\s+)?["'][^"'\n]+["'];?\s*$`, 'javascript');
strong('export', String.raw`export\s+(?:default\s+)?(?:async\s+)?(?:function|class|const|let|var|interface|type|enum|\{)`, 'javascript');
strong('interface type', String.raw`(?:interface\s+\w+(?:<[^>\n]*>)?\s*(?:extends\s+[\w<>, ]+)?\{|type\s+\w+(?:<[^>\n]*>)?\s*=\s*[^\n]+;?\s*$)`, 'typescript');
strong('console', String.raw`console\.\w+\(`, 'javascript');
strong('module', String.raw`module\.exports\s*=`, 'javascript');
// C / C++
strong('#', String.raw`#\s*(?:include\s*[<"]|define\s+\w|ifn?def\s+\w|pragma\s+\w|endif\b)`, 'c');
strong('int void char float double unsigned static struct', String.raw`(?:static\s+|unsigned\s+)?(?:int|void|char|float|double|struct\s+\w+)\s*\**\s+\**\w+\s*(?:\([^\n]*\)\s*\{?|\[[^\n]*\]\s*(?:=[^\n]*)?;|=[^\n]*;)\s*$`, 'c');
strong('std', String.raw`std::\w+`, 'cpp');
strong('template', String.raw`template\s*<`, 'cpp');
// Java / C# / Kotlin
strong('public private protected internal', String.raw`(?:public|private|protected|internal)(?:\s+(?:static|final|abstract|override|async|virtual|readonly|sealed|synchronized|const))*\s+(?:class|interface|enum|record|struct|[\w<>\[\],.?]+\s+\w+\s*(?:\(|=|;|\{))`, 'java');
strong('package', String.raw`package\s+[\w.]+;\s*$`, 'java');
strong('package', String.raw`package\s+\w+\s*$`, 'go');
strong('import', String.raw`import\s+(?:static\s+)?[\w.]+(?:\.\*)?;\s*$`, 'java');
strong('using', String.raw`using\s+(?:static\s+)?[\w.]+;\s*$`, 'csharp');
strong('namespace', String.raw`namespace\s+[\w.:]+\s*(?:\{|;)?\s*$`, 'csharp');
strong('system', String.raw`System\.(?:out|err)\.print`, 'java');
strong('fun val', String.raw`(?:fun\s+\w+\s*\(|val\s+\w+\s*(?::\s*\w+)?\s*=)`, 'kotlin');
// Go
strong('func', String.raw`func\s+(?:\([^)\n]*\)\s*)?\w+\s*\(`, 'go');
strong('fmt', String.raw`fmt\.\w+\(`, 'go');
// Rust
strong('fn pub', String.raw`(?:pub(?:\([\w ]+\))?\s+)?(?:async\s+)?fn\s+\w+\s*(?:<[^>\n]*>)?\s*\(`, 'rust');
strong('let', String.raw`let\s+mut\s+\w+`, 'rust');
strong('use', String.raw`use\s+[\w:]+(?:::\{[^}\n]*\}|::\*)?;\s*$`, 'rust');
strong('impl', String.raw`impl(?:<[^>\n]*>)?\s+[\w<>]+(?:\s+for\s+[\w<>]+)?\s*\{`, 'rust');
// Ruby / PHP / Perl
strong('require', String.raw`require(?:_relative)?\s*\(?\s*["'][^"'\n]+["']\)?;?\s*$`, 'ruby');
strong('<', String.raw`<\?(?:php|=)`, 'php');
strong('$', String.raw`\$\w+\s*(?:=|->)[^\n]*;\s*$`, 'php');
/** One column of a SELECT list: "*", "c.name", "COUNT(*)", "MAX(o.created_at) AS last". */
const SQL_COLUMN = String.raw`(?:\*|[A-Za-z_][\w.]*(?:\((?:\*|DISTINCT\s+)?[\w.*]*\))?(?:\s+AS\s+\w+)?)`;
// SQL (keywords in capitals, or a statement end / star / comparison to show it is not a sentence)
strong('select', String.raw`SELECT\s+(?:DISTINCT\s+)?(?:\*|[\w.()*]+(?:\s+AS\s+\w+)?(?:\s*,\s*[\w.()*]+(?:\s+AS\s+\w+)?)*)\s+FROM\s+\w`, 'sql');
strong('select', String.raw`select\s+(?:\*|[\w.()]+(?:\s*,\s*[\w.()]+)+)\s+from\s+\w[^\n]*`, 'sql', true);
strong('select', String.raw`select\s+[\w.()*]+\s+from\s+\w+[^\n]*(?:;|\bwhere\b[^\n]*[=<>])`, 'sql', true);
strong('insert', String.raw`INSERT\s+INTO\s+\w`, 'sql');
strong('insert', String.raw`insert\s+into\s+\w+\s*(?:\(|values\b)`, 'sql', true);
strong('update', String.raw`UPDATE\s+\w+\s+SET\s+\w`, 'sql');
strong('update', String.raw`update\s+\w+\s+set\s+\w+\s*=`, 'sql', true);
strong('delete', String.raw`DELETE\s+FROM\s+\w`, 'sql');
strong('delete', String.raw`delete\s+from\s+\w+[^\n]*(?:;|\bwhere\b[^\n]*[=<>])`, 'sql', true);
strong('create alter drop', String.raw`(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:TABLE|INDEX|VIEW|DATABASE|SCHEMA|FUNCTION|PROCEDURE|TRIGGER|UNIQUE\s+INDEX)\b`, 'sql');
strong('create alter drop', String.raw`(?:create|alter|drop)\s+(?:table|index|view|database)\s+(?:if\s+(?:not\s+)?exists\s+)?[\w.]+\s*(?:\(|;|$)`, 'sql', true);
// A statement spread over lines, read by its clauses in capitals: "SELECT a, MAX(b) AS c" ending its line, then
// "FROM t", "JOIN u ON u.id = t.id", "WHERE x > 1", "GROUP BY a", "HAVING COUNT(*) > 1", "ORDER BY c DESC".
strong('select', String.raw`SELECT\s+(?:DISTINCT\s+)?${SQL_COLUMN}(?:\s*,\s*${SQL_COLUMN})+\s*,?\s*$`, 'sql');
strong('from', String.raw`FROM\s+[A-Za-z_][\w.]*(?:\s+(?:AS\s+)?[a-z_]\w*)?\s*(?:;|(?:WHERE|JOIN|LEFT|INNER|GROUP|ORDER|LIMIT)\b[^\n]*)?\s*$`, 'sql');
strong('join left right inner full cross', String.raw`(?:(?:LEFT|RIGHT|INNER|FULL|CROSS)\s+(?:OUTER\s+)?)?JOIN\s+[\w.]+(?:\s+(?:AS\s+)?\w+)?\s+ON\s+[\w.]+\s*=\s*[\w.]+`, 'sql');
strong('where', String.raw`WHERE\s+[\w.]+\s*(?:=|<>|!=|<=|>=|<|>|\s(?:IN|LIKE|IS|BETWEEN)\b)`, 'sql');
strong('group order', String.raw`(?:GROUP|ORDER)\s+BY\s+[\w.]+(?:\s+(?:ASC|DESC))?\s*(?:,\s*[\w.]+(?:\s+(?:ASC|DESC))?)*\s*(?:;|HAVING\b[^\n]*|LIMIT\s+\d+;?)?\s*$`, 'sql');
strong('having', String.raw`HAVING\s+\w+\([^\n)]*\)\s*(?:=|<>|!=|<=|>=|<|>)`, 'sql');
// Shell
strong('#', String.raw`#!\s*/`, 'shell');
strong('$', String.raw`\$\s+(?:sudo\s+)?[a-z][\w.-]*(?:\s+[-\w./~"'=:@]+)*\s*(?<![a-z][.!?:,])$`, 'shell');
// A command line: a known program, up to two subcommand words, then an argument shaped like one (a flag, a path,
// a glob, a variable, a quoted string, a pipe or a redirect), so that "find the file" or "make sure" is prose.
strong(`sudo ${SHELL_COMMANDS}`, String.raw`(?:sudo\s+)?[a-z][\w+.-]*(?:\s+[a-z][\w-]*){0,2}(?:\s+[0-7]{3,4})?\s+${SHELL_ARG}(?:\s+\S+)*\s*(?<![a-z][.!?])$`, 'shell');
// Or a program and one of its usual subcommands, alone or with plain operands ("pip install requests",
// "git status", "sudo systemctl restart nginx").
strong(`sudo ${SHELL_COMMANDS}`, String.raw`(?:sudo\s+)?[a-z][\w+.-]*\s+${SHELL_SUBCOMMAND}(?:\s+[\w@.:=/-]+)*\s*(?<![a-z][.!?])$`, 'shell');
strong('for', String.raw`for\s+\w+\s+in\s+[^;\n]+;\s*do\b`, 'shell');
strong('while until', String.raw`(?:while|until)\s+[^;\n]+;\s*do\b`, 'shell');
strong('if', String.raw`if\s+\[\[?\s[^\n]*\]\]?\s*;\s*then\b`, 'shell');
// PowerShell: Verb-Noun cmdlets ("Get-ChildItem -Path", "Where-Object {"), iex, New-Object.
strong(POWERSHELL_VERBS.toLowerCase(), String.raw`(?:${POWERSHELL_VERBS.replaceAll(' ', '|')})-[A-Z][A-Za-z]+(?:\s*$|\s+(?:-[A-Za-z]|\||\{|\$|[A-Z][\w.]*\s*(?:-|$)))`, 'powershell');
strong('iex', String.raw`iex\s*[($]`, 'powershell');
strong('$', String.raw`\$(?:env:\w+|\w+)\s*=\s*(?:Get|New|Invoke|Read)-\w+`, 'powershell');
strong('ps', String.raw`PS\s+[A-Z]:\\[^>\n]*>`, 'powershell');
// HTML / CSS
strong('<', String.raw`<(?:!doctype|html|head|body|div|script|style|span|p|a|ul|ol|li|table|tr|td|form|input|button|meta|link|img|section|template|svg)\b[^>\n]*>`, 'html', true);
strong('. # @', String.raw`(?:[.#][\w-]+|@media|@import|@keyframes)[^\n{};]*\{\s*$`, 'css');
strong('@', String.raw`@[A-Za-z_][\w.]*(?:\([^\n]*\))?\s*$`);
// A whole CSS rule on one line: selector { property: value; … }
strong(`. # * ${CSS_ELEMENTS}`, String.raw`[\w.#*:>+~()\[\]="' ,-]*\{\s*-{0,2}[a-z][\w-]*\s*:\s*[^;{}\n]+;[^{}\n]*\}?\s*$`, 'css', true);
// Ruby and Perl printing a string ("puts 'big' if x > 3").
strong('puts say', String.raw`(?:puts|say)\s+["'][^\n]*$`, 'ruby');
strong('return', String.raw`return\b[^\n]*;\s*$`);
strong('while for', String.raw`(?:while|for)\s*\([^\n]*\)\s*\{?\s*$`);
strong('if', String.raw`if\s*\([^\n]*\)\s*\{?\s*$`);

const KEYWORDS = new Set('return if else for while do switch case break continue throw try catch finally elif def class import from export const let var fn func package using namespace struct enum impl public private protected static void int char float double bool boolean string end begin echo yield await async lambda with as pass raise except'.split(' '));

// Character classes for the weak signals.
const C_BRACKET = 1; // { } ( ) [ ]
const C_OP = 2; // = < > & | ! + * / % ^ ~
const C_SEMI = 4; // ;
const CHAR = new Uint8Array(128);
for (const c of '{}()[]') CHAR[c.charCodeAt(0)] = C_BRACKET;
for (const c of '=<>&|!+*/%^~') CHAR[c.charCodeAt(0)] = C_OP;
CHAR[59] = C_SEMI;

const CALL = /[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\((?:[^()\n]|\([^()\n]*\))*\)/y;
const ASSIGN = /[A-Za-z_$][\w$.[\]'"]*\s*(?:[+\-*/|&]?=)(?!=)\s*\S/y;

// ---------------------------------------------------------------------------------------------------- line analysis

const NONE = 0;
const MAYBE = 1;
const CODE = 2;
const STRONG = 3;

let lineLang: string | undefined;
/** Set by classify: the line holds only brackets, which an indented block must not promote to code. */
let lineBracketsOnly = false;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

function isWordStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

/** Classifies the line text[start, end) (no newline inside); sets lineLang for strong lines. */
function classify(text: string, start: number, end: number): number {
  lineLang = undefined;
  lineBracketsOnly = false;
  let s = start;
  while (s < end && isSpace(text.charCodeAt(s))) s++;
  let e = end;
  while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
  if (s >= e) return NONE;
  const first = text.charCodeAt(s);

  // Strong patterns: by first word, or by first symbol.
  let candidates: Strong[] | undefined;
  if (isWordStart(first)) {
    let w = s + 1;
    while (w < e && (isWordStart(text.charCodeAt(w)) || text.charCodeAt(w) === 45 || (text.charCodeAt(w) >= 48 && text.charCodeAt(w) <= 57) || text.charCodeAt(w) === 43)) w++;
    if (w - s <= 24) {
      const word = text.slice(s, w).toLowerCase();
      candidates = BY_WORD.get(word);
      // "Get-ChildItem": PowerShell's patterns are filed under the verb.
      const dash = word.indexOf('-');
      if (candidates === undefined && dash > 0) candidates = BY_WORD.get(word.slice(0, dash));
    }
  } else candidates = BY_CHAR.get(first);
  if (candidates !== undefined) {
    for (const c of candidates) {
      c.re.lastIndex = s;
      if (c.re.test(text) && c.re.lastIndex <= e + 1) {
        lineLang = c.lang;
        return STRONG;
      }
    }
  }

  // Weak signals.
  let brackets = 0;
  let ops = 0;
  let semis = 0;
  let letters = 0;
  let spaces = 0;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      const k = CHAR[c]!;
      if (k === C_BRACKET) brackets++;
      else if (k === C_OP) ops++;
      else if (k === C_SEMI) semis++;
      else if (c === 32) spaces++;
      else if (isWordStart(c)) letters++;
    } else letters++;
  }
  const length = e - s;
  const last = text.charCodeAt(e - 1);
  // Only closing or opening brackets ("}", "},", "];"): part of a block, code or JSON alike; it adds nothing.
  if (letters === 0 && length <= 4 && brackets > 0 && !/[\w"']/.test(text.slice(s, e))) {
    lineBracketsOnly = true;
    return MAYBE;
  }
  if (brackets + ops + semis === 0) {
    // No code punctuation at all: only a bare keyword line ("else:", "end", "pass", "break") can be code.
    return last === 58 && length < 24 && /^(?:else|try|finally|pass|do|begin)\b/.test(text.slice(s, e)) ? CODE : NONE;
  }
  let weak = 0;
  if (last === 59 || last === 123 || last === 125 || (last === 44 && (text.charCodeAt(e - 2) === 41 || text.charCodeAt(e - 2) === 93))) weak++;
  if (first === 125 || first === 41 || first === 93 || first === 123) weak++;
  if (hasOperator(text, s, e)) weak++;
  if (brackets > 0) {
    for (let i = s; i < e; i++) {
      if (text.charCodeAt(i) === 40 && i > s && isWordChar(text.charCodeAt(i - 1))) {
        let j = i - 1;
        while (j > s && (isWordChar(text.charCodeAt(j - 1)) || text.charCodeAt(j - 1) === 46)) j--;
        CALL.lastIndex = j;
        if (CALL.test(text) && CALL.lastIndex <= e) {
          weak++;
          break;
        }
      }
    }
  }
  if (isWordStart(first)) {
    ASSIGN.lastIndex = s;
    if (ASSIGN.test(text) && ASSIGN.lastIndex <= e) weak++;
    let w = s + 1;
    while (w < e && isWordStart(text.charCodeAt(w))) w++;
    // A keyword followed by a space, a bracket or a colon ("return x", "if (", "else:").
    if (w - s <= 8 && KEYWORDS.has(text.slice(s, w)) && (w === e || text.charCodeAt(w) === 32 || text.charCodeAt(w) === 40 || text.charCodeAt(w) === 58)) weak++;
  }
  const dense = brackets + ops + semis;
  if (dense * 8 >= length - spaces) weak++;
  // Prose: several words, sentence punctuation at the end, little code punctuation.
  const words = spaces + 1;
  if (words >= 6 && letters >= length * 0.6 && (last === 46 || last === 33 || last === 63 || last === 58) && dense <= 3) weak -= 2;
  // Three signals in one line (a call, an assignment, a statement end, dense brackets) is code on its own:
  // "x = [i * i for i in range(10)]", 'printf("%d\n", count);'.
  return weak >= 3 ? STRONG : weak === 2 ? CODE : weak === 1 ? MAYBE : NONE;
}

/** A two-character operator in text[s, e): => -> :: := == != && || += -= ++ <= >= << >>. */
function hasOperator(text: string, s: number, e: number): boolean {
  for (let i = s; i < e - 1; i++) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    if (b === 61 && (a === 61 || a === 33 || a === 58 || a === 43 || a === 45 || a === 60 || a === 62)) return true; // == != := += -= <= >=
    if (b === 62 && (a === 61 || a === 45 || a === 62)) return true; // => -> >>
    if (a === 60 && b === 45 && i + 2 < e && text.charCodeAt(i + 2) === 32) return true; // R's "x <- c(1, 2)"
    if (a === b && (a === 38 || a === 124 || a === 43 || a === 58 || a === 60)) return true; // && || ++ :: <<
  }
  return false;
}

function isWordChar(c: number): boolean {
  return isWordStart(c) || (c >= 48 && c <= 57) || c === 36;
}

// ---------------------------------------------------------------------------------------------------- scanner

interface Span {
  kind: 'fenced' | 'indented' | 'lines' | 'inline' | 'config' | 'rule';
  start: number;
  end: number;
  weight: number;
  lang: string | undefined;
}

const LIST_ITEM = /^[ \t]*(?:[-*+]|\d+[.)])\s/;
const FENCE = /[ ]{0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n`]*$/my;

/**
 * Programs that are not English words, so that one followed by an argument is a command even inside a sentence;
 * and anything after "sudo".
 */
const EMBEDDED_COMMAND = new RegExp(
  String.raw`(?<![\w./-])(?:sudo\s+[a-z][\w.-]*\s+[a-z][\w-]*|(?:sudo\s+)?(?:git|npm|npx|pnpm|yarn|pip3?|pipx|curl|wget|docker|kubectl|chmod|chown|apt-get|apt|brew|cargo|rustup|ssh|scp|rsync|tar|systemctl|journalctl|rm|mkdir|python3?|node|conda|helm|terraform|powershell|pwsh|grep|awk|sed|iex)(?:\s+[a-z][\w-]*){0,2}\s+${SHELL_ARG})(?:\s+(?:${SHELL_ARG}|[\w.:@~/-]+))*`,
  'g',
);
/**
 * Code inside a sentence in any language, read by its own shape rather than the words around it. Each family has
 * the characters it needs (one pass over the line), so that prose pays for that pass only.
 */
interface InlineFamily {
  readonly name: string;
  readonly lang: string | undefined;
  /** Marks (see lineMarks) the line must all have for the regex to be worth running. */
  readonly needs: number;
  readonly re: RegExp;
  /** A final check on the match (the regex finds the candidate). */
  readonly accept?: (match: string) => boolean;
}

const M_SPACE_DASH = 1;
const M_PIPE = 2;
const M_STAR_OR_AT = 4;
/** Four capitals in a row (SELECT, UPDATE, DROP). */
const M_CAPITALS = 8;
const M_DOT = 16;
/** "=>" or "->". */
const M_ARROW = 32;
const M_COLON = 64;
/** ")." */
const M_PAREN_DOT = 128;
const M_BACKSLASH_OR_BRACKET = 256;
const M_PAREN = 512;

/** One pass over the line: which characters the inline families need are there. */
function lineMarks(line: string): number {
  let marks = 0;
  let capitals = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      if (++capitals >= 4) marks |= M_CAPITALS;
      continue;
    }
    capitals = 0;
    if (c === 45) {
      if (i > 0 && line.charCodeAt(i - 1) === 32) marks |= M_SPACE_DASH;
      if (line.charCodeAt(i + 1) === 62) marks |= M_ARROW;
    } else if (c === 124) marks |= M_PIPE;
    else if (c === 42 || c === 64) marks |= M_STAR_OR_AT;
    else if (c === 46) {
      marks |= M_DOT;
      if (i > 0 && line.charCodeAt(i - 1) === 41) marks |= M_PAREN_DOT;
    } else if (c === 61 && line.charCodeAt(i + 1) === 62) marks |= M_ARROW;
    else if (c === 58) marks |= M_COLON;
    else if (c === 92 || c === 91) marks |= M_BACKSLASH_OR_BRACKET;
    else if (c === 40) marks |= M_PAREN;
  }
  return marks;
}

/** Programs that are English words too ("find", "sort", "head"): a command only when a flag follows. */
const FLAGGED_PROGRAMS = 'ls|du|df|ps|lsof|ss|netstat|nc|nmap|dig|ping|traceroute|uname|find|sort|head|tail|kill|pkill|killall|top|htop|free|watch|touch|cat|less|which|tree|ln|cp|mv|xargs|uniq|wc|jq|tee|cut|tr|diff|crontab|openssl|ffmpeg|unzip|zip|gzip|gunzip|make|gcc|ip|ifconfig|useradd|usermod|mount|umount|lsblk|dd|nohup|tmux|date|ssh-keygen|chmod|chown|systemctl|journalctl|docker|git|npm|curl|wget|grep|sed|awk|tar|rsync|ssh|scp';
/** A flag ("-ah", "--sort=size"). */
const FLAG = String.raw`-{1,2}[A-Za-z][\w-]*(?:=[^\s，。、；]+)?`;
/** What may follow a flag on a command line: more flags, a port, a path, a number, a file name, a glob. */
const FLAG_OPERAND = String.raw`(?:${FLAG}|:\d+|[~/.$][^\s，。、；|]*|\d+[kKmMgG]?|[\w.-]+\.[a-z0-9]{1,5}|\*[\w.*]*)`;
/** A crontab time field: a star (with a step), "3", "1-5", "0,30". */
const CRON_FIELD = String.raw`(?:\*(?:/\d{1,2})?|\d{1,2}(?:[-,]\d{1,2})*(?:/\d{1,2})?)`;
/** Regex constructs: an escape class, a bracket class, a quantifier, an anchor, a group. */
const REGEX_CLASS = /\\[dDwWsSbB]|\[(?:\^)?(?:[^\]\s\\]|\\.){1,40}\]/g;
const REGEX_SHAPE = /\{\d+(?:,\d*)?\}|(?<=[\]\)dDwWsS.])[+*?]|^\^|\$$|\(\?[:=!<]|\\[.\-+*?()\[\]{}/|^$]/g;

const INLINE_FAMILIES: readonly InlineFamily[] = [
  // A command with flags, in a sentence in any language: "lsof -i :8080", "du -sh ~/Downloads".
  {
    name: 'flagged_command',
    lang: 'shell',
    needs: M_SPACE_DASH,
    re: new RegExp(String.raw`(?<![\w./-])(?:sudo\s+)?(?:${FLAGGED_PROGRAMS})\s+${FLAG}(?:\s+${FLAG_OPERAND})*(?:\s*(?:\||&&|>>?)\s*[a-z][\w.-]*(?:\s+${FLAG_OPERAND})*)*`, 'g'),
  },
  // A pipeline: a program with a flag or an operand, a pipe, another program ("ps aux | grep node").
  {
    name: 'pipeline',
    lang: 'shell',
    needs: M_PIPE,
    re: new RegExp(String.raw`(?<![\w./-])[a-z][\w.-]*(?:\s+${FLAG_OPERAND}|\s+[a-z]+)?(?:\s+${FLAG_OPERAND})*\s*\|\s*(?:sudo\s+)?(?:${FLAGGED_PROGRAMS}|sh|bash|xargs|less|more|tr|column)(?![\w-])`, 'g'),
    accept: (m) => /\s-{1,2}[A-Za-z]|[~/]|\|\s*(?:sh|bash)$/.test(m),
  },
  // A crontab line: five time fields (one at least a "*") and a command given by a path, or a program and a flag
  // or a path ("30 2 * * 1 /opt/backup.sh", "0 4 * * * cd /srv && make").
  {
    name: 'crontab',
    lang: 'shell',
    needs: M_STAR_OR_AT,
    re: new RegExp(String.raw`(?<![\w*/])(?:${CRON_FIELD}\s+){4}${CRON_FIELD}\s+(?:[/~$]\S*|[a-z][\w.-]*\s+[-/~$])|(?<![\w@])@(?:reboot|daily|hourly|weekly|monthly|yearly|annually)\s+[/~$]\S+`, 'g'),
    accept: (m) => m.startsWith('@') || m.includes('*'),
  },
  // A SQL statement by its clauses, keywords in capitals: SELECT … FROM, UPDATE … SET … =, INSERT INTO … (,
  // DELETE FROM … WHERE, CREATE TABLE … (.
  {
    name: 'sql',
    lang: 'sql',
    needs: M_CAPITALS,
    re: new RegExp(
      String.raw`(?<![\w])(?:SELECT\s+(?:DISTINCT\s+)?${SQL_COLUMN}(?:\s*,\s*${SQL_COLUMN})*\s+FROM\s+[A-Za-z_][\w.]*|UPDATE\s+[A-Za-z_][\w.]*\s+SET\s+[A-Za-z_][\w.]*\s*=|INSERT\s+INTO\s+[A-Za-z_][\w.]*\s*(?:\(|VALUES\b)|DELETE\s+FROM\s+[A-Za-z_][\w.]*\s+WHERE\b|(?:CREATE|ALTER|DROP)\s+(?:TABLE|INDEX|VIEW)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?[A-Za-z_][\w.]*\s*[(;])[^\n]*`,
      'g',
    ),
  },
  // An expression with a block or a lambda, or two chained calls: "rows.each { |r| … }", "xs.map(x => x * 2)",
  // "sorted(people, key=lambda p: p.age)", "df.groupby('a').sum()".
  {
    name: 'block',
    lang: undefined,
    needs: M_PIPE | M_DOT,
    re: /[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*(?:\([^()\n]*\))?)+\s*(?:\{\s*\|[\w, *]+\||do\s*\|[\w, *]+\|)[^\n]*/g,
  },
  {
    name: 'arrow',
    lang: undefined,
    needs: M_ARROW,
    re: /[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*(?:\([^()\n]*\))?)*\.[A-Za-z_$][\w$]*\(\s*(?:[A-Za-z_$]\w*|\([\w, ]*\))\s*(?:=>|->)[^\n]*/g,
  },
  {
    name: 'lambda',
    lang: 'python',
    needs: M_COLON,
    re: /\b[a-z_]\w*\([^()\n]*\blambda\s+\w+(?:\s*,\s*\w+)*\s*:[^\n]*/g,
  },
  // A Ruby range with a method ("(1..10).map { |x| x**2 }.sum", "(1..5).each_slice(2)").
  {
    name: 'ruby_range',
    lang: 'ruby',
    needs: M_PAREN | M_DOT,
    re: /\(-?\d+\.\.\.?-?\w+\)\.[a-z_]\w*[^\n]*/g,
  },
  // A call whose argument is a call, names of three letters or more, the inner argument a name, a dotted name or
  // nothing ("list(dict.fromkeys(items))", "Array.from(new Set(xs))", "Counter(s.split())"), not "sin(cos(x))".
  {
    name: 'nested_call',
    lang: undefined,
    needs: M_PAREN,
    re: /(?<![\w$.])[A-Za-z_$][\w$]{2,}(?:\.[A-Za-z_$][\w$]*)*\((?:new\s+)?[A-Za-z_$][\w$]{2,}(?:\.[A-Za-z_$][\w$]*)*\((?:[A-Za-z_$][\w$.]{2,}|[^()\n]*[.=][^()\n]*)?\)[^()\n]*\)/g,
  },
  // JavaScript spread into an array ("[...new Set(arr)]", "[...map.keys()]").
  {
    name: 'spread',
    lang: 'javascript',
    needs: M_DOT | M_BACKSLASH_OR_BRACKET,
    re: /\[\.\.\.(?:new\s+)?[A-Za-z_$][\w$.]*(?:\([^()\n]*\))?[^\]\n]*\]/g,
  },
  // A JavaScript declaration whose value is code: a constructor, an array, an object, a call, or a closing ";".
  {
    name: 'declaration',
    lang: 'javascript',
    needs: 0,
    re: /(?<![\w$])(?:const|let|var)\s+[A-Za-z_$][\w$]*\s*=\s*(?:(?:new\s|\[|\{|[A-Za-z_$][\w$.]*\()[^\n]*|[^;\n]+;)/g,
  },
  // PowerShell: a Verb-Noun cmdlet with a -Parameter or piped into another cmdlet, inside a sentence
  // ("Remove-Item -Recurse -Force .\node_modules", "Get-Process | Sort-Object CPU"); "the Get-Help cmdlet" is prose.
  {
    name: 'powershell',
    lang: 'powershell',
    needs: 0,
    re: new RegExp(String.raw`(?<![\w-])(?:${POWERSHELL_VERBS.replaceAll(' ', '|')})-[A-Z][A-Za-z]+(?:\s+[^\s-][^\s]*)?(?:\s+-[A-Z][A-Za-z]+|\s*\|\s*(?:${POWERSHELL_VERBS.replaceAll(' ', '|')})-[A-Z][A-Za-z]+)[^\n]*`, 'g'),
  },
  {
    name: 'chained_calls',
    lang: undefined,
    needs: M_PAREN_DOT,
    re: /[A-Za-z_$][\w$]*\.[A-Za-z_$][\w$]*\([^()\n]*\)\.[A-Za-z_$][\w$]*\([^()\n]*\)/g,
  },
];

/**
 * A regular expression written in a sentence ("^\d{3}-\d{4}$", "/^[a-z]+@…$/"): a token without spaces dense with
 * regex constructs: at least one character class and two of quantifiers, anchors, groups or escaped
 * metacharacters. A Windows path has escapes but no quantifier; a formula has no class.
 */
function regexLiteral(line: string): { start: number; end: number } | undefined {
  const token = /[^\s`'"，。、]{6,}/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(line)) !== null) {
    let t = m[0];
    const slashed = t.length > 2 && t.startsWith('/') && /\/[gimsuy]*[.,;:)]?$/.test(t);
    if (slashed) t = t.slice(1, t.lastIndexOf('/'));
    t = t.replace(/[.,;:)]$/, '');
    const classes = t.match(REGEX_CLASS)?.length ?? 0;
    if (classes === 0) continue;
    const shapes = t.match(REGEX_SHAPE)?.length ?? 0;
    if (shapes >= 2) return { start: m.index, end: m.index + m[0].length };
  }
  return undefined;
}

/** A `code span` in a line of prose. */
const CODE_SPAN = /`([^`\n]{3,})`/g;
/**
 * A code span holding a command line: a program, then at least one flag or a pipe among its arguments
 * ("`find . -name '*.log' -mtime +7 -delete`"). A backticked word ("`git`") or a phrase is not one.
 */
const SPAN_COMMAND = /^\s*(?:sudo\s+)?[a-z][\w.+-]*(?:\s+\S+)*?\s+(?:-{1,2}[A-Za-z][\w-]*|\||&&)(?:\s|$)/;

/** A command or a code span inside the prose line text[start, end), as a span of its own. */
function inlineCode(text: string, start: number, end: number): Span | undefined {
  const line = text.slice(start, end);
  EMBEDDED_COMMAND.lastIndex = 0;
  const command = EMBEDDED_COMMAND.exec(line);
  if (command !== null) return { kind: 'inline', start: start + command.index, end: start + command.index + command[0].length, weight: 0.55, lang: 'shell' };
  const marks = lineMarks(line);
  for (const family of INLINE_FAMILIES) {
    if ((marks & family.needs) !== family.needs) continue;
    family.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = family.re.exec(line)) !== null) {
      if (family.accept === undefined || family.accept(m[0])) {
        const end = start + m.index + m[0].trimEnd().length;
        return { kind: 'inline', start: start + m.index, end, weight: 0.55, lang: family.lang };
      }
      if (m[0].length === 0) family.re.lastIndex++;
    }
  }
  const regex = (marks & M_BACKSLASH_OR_BRACKET) === 0 ? undefined : regexLiteral(line);
  if (regex !== undefined) return { kind: 'inline', start: start + regex.start, end: start + regex.end, weight: 0.55, lang: undefined };
  if (!line.includes('`')) return undefined;
  CODE_SPAN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = CODE_SPAN.exec(line)) !== null) {
    const s = start + m.index + 1;
    if (SPAN_COMMAND.test(m[1]!)) return { kind: 'inline', start: s, end: s + m[1]!.length, weight: 0.55, lang: 'shell' };
    const k = classify(text, s, s + m[1]!.length);
    if (k >= CODE) return { kind: 'inline', start: s, end: s + m[1]!.length, weight: 0.55, lang: lineLang };
  }
  return undefined;
}

/**
 * Where the JSON document that opens at `at` ends (just past its closing bracket, which must end a line), or −1:
 * the matching bracket is found by counting (strings skipped), then the span must parse.
 */
function jsonEnd(text: string, at: number): number {
  let depth = 0;
  let inString = false;
  const stop = Math.min(text.length, at + 65536);
  for (let i = at; i < stop; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      if (--depth > 0) continue;
      let e = i + 1;
      while (e < text.length && isSpace(text.charCodeAt(e))) e++;
      if (e < text.length && text.charCodeAt(e) !== 10) return -1;
      try {
        JSON.parse(text.slice(at, i + 1));
        return i + 1;
      } catch {
        return -1;
      }
    }
  }
  return -1;
}

/** The most frequent language among the strong lines of a run (undefined when none said). */
class LangVote {
  counts = new Map<string, number>();
  add(lang: string | undefined): void {
    if (lang !== undefined) this.counts.set(lang, (this.counts.get(lang) ?? 0) + 1);
  }
  winner(): string | undefined {
    let best: string | undefined;
    let n = 0;
    for (const [lang, k] of this.counts) {
      if (k > n) {
        best = lang;
        n = k;
      }
    }
    return best;
  }
  clear(): void {
    this.counts.clear();
  }
}

const FENCE_VOTE = new LangVote();
const RUN_VOTE = new LangVote();

/** Two or more KEY=value lines in a row: a .env or config file ("DATABASE_URL=postgres://…", "DEBUG=false"). */
const DOTENV = /^[ \t]*(?:export\s+)?[A-Z][A-Z0-9_]{1,}=[^\s=][^\n]*\n[ \t]*(?:export\s+)?[A-Z][A-Z0-9_]{1,}=[^\n]*/gm;
/**
 * A Makefile rule: "target:" (with its prerequisites) then a tab-indented line that reads as a command (a program
 * and an argument shaped like one), so that "Ingredients:" and tab-indented prose are not rules.
 */
const MAKEFILE_RULE = new RegExp(String.raw`^[A-Za-z0-9_.%/$()-]+(?:[ \t]+[A-Za-z0-9_.%/$()-]+)*[ \t]*:(?!=)[^\n]*\n\t(?:@|-)?(?:[a-z][\w.+-]*(?:\s+[a-z][\w-]*){0,2}\s+${SHELL_ARG}|\$\()[^\n]*(?:\n\t[^\n]*)*`, 'gm');

/** Code of several lines that each look like prose or data alone: config files and Makefile rules. */
function multilineSpans(text: string, spans: Span[]): void {
  if (!text.includes('\n')) return;
  if (text.includes('=')) {
    DOTENV.lastIndex = 0;
    const m = DOTENV.exec(text);
    if (m !== null) spans.push({ kind: 'config', start: m.index, end: m.index + m[0].length, weight: 0.6, lang: undefined });
  }
  if (text.includes('\n\t')) {
    MAKEFILE_RULE.lastIndex = 0;
    const m = MAKEFILE_RULE.exec(text);
    if (m !== null) spans.push({ kind: 'rule', start: m.index, end: m.index + m[0].length, weight: 0.6, lang: 'makefile' });
  }
}

/** The spans of code in `text`. */
function findSpans(text: string): Span[] {
  const spans: Span[] = [];
  multilineSpans(text, spans);
  const len = text.length;
  let pos = 0;
  // Open fence.
  let fenceChar = 0;
  let fenceLen = 0;
  let fenceStart = -1;
  let fenceInfo = '';
  let fenceHasContent = false;
  let fenceCodeLines = 0;
  const fenceVote = FENCE_VOTE;
  fenceVote.clear();
  // Current run of bare code lines.
  let runStart = -1;
  let runEnd = -1;
  let runStrong = 0;
  let runCode = 0;
  let runIndented = true;
  const runVote = RUN_VOTE;
  runVote.clear();
  let prevBlank = true;

  const closeRun = (): void => {
    if (runStart < 0) return;
    if (runStrong + runCode > 0) {
      const keep = Math.pow(0.45, runStrong) * Math.pow(0.7, runCode);
      const weight = Math.min(0.95, 1 - keep);
      spans.push({ kind: runIndented ? 'indented' : 'lines', start: runStart, end: runEnd, weight, lang: runVote.winner() });
    }
    runStart = -1;
    runStrong = 0;
    runCode = 0;
    runIndented = true;
    runVote.clear();
  };

  const closeFence = (end: number, closed: boolean): void => {
    const info = canonical(fenceInfo);
    let weight: number;
    if (NOT_CODE_INFO.has(fenceInfo.toLowerCase())) weight = fenceCodeLines >= 2 ? 0.7 : fenceCodeLines === 1 ? 0.4 : 0;
    else if (info !== undefined) weight = fenceHasContent ? 0.9 : 0.8;
    else if (fenceCodeLines > 0) weight = 0.9;
    // No language and nothing code-like inside: a fenced letter or poem, or (unclosed, in a streamed window) the
    // closing fence of a block that began before the window.
    else weight = fenceHasContent ? (closed ? 0.45 : 0.3) : 0.4;
    spans.push({ kind: 'fenced', start: fenceStart, end, weight, lang: info ?? fenceVote.winner() });
    fenceStart = -1;
    fenceVote.clear();
  };

  while (pos <= len) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = len;
    const lineStart = pos;
    const lineEnd = nl;
    pos = nl + 1;

    // Fences.
    const c0 = text.charCodeAt(lineStart + (text.charCodeAt(lineStart) === 32 ? 1 : 0));
    if ((c0 === 96 || c0 === 126 || text.charCodeAt(lineStart) === 32) && lineEnd - lineStart >= 3) {
      FENCE.lastIndex = lineStart;
      const f = FENCE.exec(text);
      if (f !== null && f.index === lineStart && FENCE.lastIndex <= lineEnd) {
        const ch = f[1]!.charCodeAt(0);
        if (fenceStart < 0) {
          closeRun();
          fenceStart = lineStart;
          fenceChar = ch;
          fenceLen = f[1]!.length;
          fenceInfo = f[2]!.replace(/^\{?\.?/, '').replace(/\}$/, '');
          fenceHasContent = false;
          fenceCodeLines = 0;
          prevBlank = true;
          if (pos > len) closeFence(lineEnd, false);
          continue;
        }
        if (ch === fenceChar && f[1]!.length >= fenceLen && f[2]!.length === 0) {
          closeFence(lineEnd, true);
          prevBlank = true;
          continue;
        }
      }
    }
    if (fenceStart >= 0) {
      let blank = true;
      for (let i = lineStart; i < lineEnd; i++) {
        if (!isSpace(text.charCodeAt(i))) {
          blank = false;
          break;
        }
      }
      if (!blank) {
        fenceHasContent = true;
        const k = classify(text, lineStart, lineEnd);
        if (k >= CODE) fenceCodeLines++;
        fenceVote.add(lineLang);
      }
      if (pos > len) closeFence(lineEnd, false);
      continue;
    }

    // Bare and indented lines.
    let indent = 0;
    let i = lineStart;
    for (; i < lineEnd; i++) {
      const c = text.charCodeAt(i);
      if (c === 32) indent++;
      else if (c === 9) indent += 4;
      else if (c !== 13) break;
    }
    const blank = i >= lineEnd;
    if (blank) {
      prevBlank = true;
      continue;
    }
    // A JSON document is data (a structured answer), not code: its lines are skipped whole.
    const c = text.charCodeAt(i);
    if ((c === 123 || c === 91) && runStart < 0) {
      const end = jsonEnd(text, i);
      if (end > 0) {
        const next = text.indexOf('\n', end);
        pos = next < 0 ? len + 1 : next + 1;
        prevBlank = false;
        continue;
      }
    }
    let k = classify(text, lineStart, lineEnd);
    // Prose with a command or a code span inside it: "Undo it with git reset --hard HEAD~1", "run `ls -la`".
    // A line with two weak signals that also holds one of these is strong ("rows.each { |r| … }" alone on a line).
    if (k < STRONG) {
      const inline = inlineCode(text, lineStart, lineEnd);
      if (inline !== undefined && k === CODE) {
        k = STRONG;
        lineLang = inline.lang;
      } else if (inline !== undefined) spans.push(inline);
    }
    const indentedBlock = indent >= 4 && (prevBlank || (runStart >= 0 && runIndented));
    // In an indented block a line with one weak signal is code; a list item ("- x", "1. x") never is.
    // In an indented block, or indented under a code line (a block's body), a line with one weak signal is code;
    // a list item ("- x", "1. x") never is.
    if (k === MAYBE && !lineBracketsOnly && (indentedBlock || (runStart >= 0 && indent >= 2)) && !LIST_ITEM.test(text.slice(lineStart, Math.min(lineEnd, lineStart + 16)))) k = CODE;
    if (k >= CODE) {
      if (runStart < 0) runStart = lineStart + indent;
      runEnd = lineEnd;
      if (text.charCodeAt(runEnd - 1) === 13) runEnd--;
      if (k === STRONG) runStrong++;
      else runCode++;
      if (!indentedBlock) runIndented = false;
      runVote.add(lineLang);
    } else if (k === MAYBE && runStart >= 0) {
      runEnd = lineEnd;
    } else {
      closeRun();
    }
    prevBlank = false;
  }
  closeRun();
  if (fenceStart >= 0) closeFence(len, false);
  return spans;
}

/** Canonical language names from config, with the families the guess cannot split. */
function languageSet(names: readonly string[], option: string): Set<string> {
  if (!Array.isArray(names) || names.length === 0) throw new Error(`no_code: ${option} must be a non-empty array of language names`);
  const set = new Set<string>();
  for (const name of names) {
    const c = typeof name === 'string' ? canonical(name) : undefined;
    if (c === undefined) throw new Error(`no_code: unknown language "${String(name)}" (known: ${NO_CODE_LANGUAGES.join(', ')})`);
    set.add(c);
    if (FAMILY[c] !== undefined) set.add(FAMILY[c]!);
    for (const [member, family] of Object.entries(FAMILY)) if (family === c) set.add(member);
  }
  return set;
}

export function createNoCodeScanner(options: NoCodeOptions = {}): Scanner {
  const threshold = options.threshold ?? NO_CODE_DEFAULT_THRESHOLD;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) throw new Error('no_code: threshold must be in (0, 1]');
  if (options.languages !== undefined && options.allowLanguages !== undefined) throw new Error('no_code: give languages or allowLanguages, not both');
  const only = options.languages === undefined ? undefined : languageSet(options.languages, 'languages');
  const allowed = options.allowLanguages === undefined ? undefined : languageSet(options.allowLanguages, 'allowLanguages');

  return {
    name: 'no_code',
    scan(text: string): ScanResult {
      const matches: ScanMatch[] = [];
      if (text.length < 3) return { score: 0, flagged: false, matches };
      let keep = 1;
      for (const span of findSpans(text)) {
        let w = span.weight;
        if (only !== undefined || allowed !== undefined) {
          if (span.lang === undefined) w *= 0.5;
          else if (only !== undefined ? !only.has(span.lang) : allowed!.has(span.lang)) continue;
        }
        keep *= 1 - w;
        matches.push({ rule: span.lang === undefined ? `${span.kind}_code` : `${span.kind}_code.${span.lang}`, start: span.start, end: span.end });
      }
      const score = 1 - keep;
      return { score, flagged: score >= threshold, matches };
    },
  };
}
