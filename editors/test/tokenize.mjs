// Tokenizes every example workload (workloads/**/*.llmw) with VS Code's own TextMate engine
// (vscode-textmate over the Oniguruma regex engine, as the editor runs it) and the grammar in
// editors/vscode/syntaxes/, and checks, on every line, that each comment, string, number with
// a unit (durations, rates, percentages, multipliers) and block keyword gets its scope, found
// independently of the grammar by plain regular expressions over the text. With --html FILE it
// also writes the first example, highlighted, as a page (docs/img/highlight.png is its
// screenshot).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import oniguruma from 'vscode-oniguruma';
import textmate from 'vscode-textmate';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const wasm = fs.readFileSync(path.join(here, 'node_modules/vscode-oniguruma/release/onig.wasm'));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
const registry = new textmate.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (s) => new oniguruma.OnigScanner(s),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async (scope) => {
    if (scope !== 'source.llmw') return null;
    const file = path.join(root, 'editors/vscode/syntaxes/llmw.tmLanguage.json');
    return textmate.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
  },
});
const grammar = await registry.loadGrammar('source.llmw');

function examples(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? examples(p) : e.name.endsWith('.llmw') ? [p] : [];
  }).sort();
}

// The spans of a line that are strings and comments, found by hand (a `#` inside a string is
// not a comment).
function lexical(line) {
  const strings = [];
  let comment = null;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      strings.push([i, Math.min(j + 1, line.length)]);
      i = j;
    } else if (line[i] === '#') {
      comment = [i, line.length];
      break;
    }
  }
  return { strings, comment };
}

const expectations = [
  // [what, regex over code outside strings and comments, the scope its text must carry]
  ['duration', /-?\b\d[\d_]*(\.\d+)?(ms|s|m|h)\b/g, 'constant.numeric.duration.llmw'],
  ['rate', /-?\b\d[\d_]*(\.\d+)?\/(s|m|h)\b/g, 'constant.numeric.rate.llmw'],
  ['percent', /-?\b\d[\d_]*(\.\d+)?%/g, 'constant.numeric.percent.llmw'],
  ['multiplier', /-?\b\d[\d_]*(\.\d+)?x\b/g, 'constant.numeric.multiplier.llmw'],
  ['block keyword', /^\s*(workload|target|requests|class|session|phase|slo|abort|on_error)\b(?=\s*("|\{|weight\b))/g, 'keyword.other.block.llmw'],
  ['keyword', /\b(param|include|weight)\b/g, 'keyword.other.llmw'],
  ['boolean', /\b(true|false)\b/g, 'constant.language.boolean.llmw'],
];

const counts = {};
const failures = [];
let html = '';
const files = examples(path.join(root, 'workloads'));
for (const file of files) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  let state = textmate.INITIAL;
  lines.forEach((line, n) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    const scopesAt = (i) => {
      const t = r.tokens.find((t) => t.startIndex <= i && i < t.endIndex);
      return t ? t.scopes : [];
    };
    const covered = (start, end, scope, what) => {
      counts[what] = (counts[what] || 0) + 1;
      for (let i = start; i < end; i++) {
        if (!scopesAt(i).some((s) => s.startsWith(scope))) {
          failures.push(`${path.relative(root, file)}:${n + 1}:${i + 1}: ${what} '${line.slice(start, end)}' lacks ${scope} (has ${scopesAt(i).join(' ')})`);
          return;
        }
      }
    };
    const { strings, comment } = lexical(line);
    for (const [a, b] of strings) if (!comment || a < comment[0]) covered(a, b, 'string.quoted.double.llmw', 'string');
    if (comment) covered(comment[0], comment[1], 'comment.line.number-sign.llmw', 'comment');
    // Code: the line with its strings and comment blanked out.
    let code = line.split('');
    for (const [a, b] of strings) for (let i = a; i < b; i++) code[i] = ' ';
    if (comment) for (let i = comment[0]; i < line.length; i++) code[i] = ' ';
    code = code.join('');
    for (const [what, re, scope] of expectations) {
      for (const m of code.matchAll(re)) {
        const start = m.index + m[0].search(/\S/);
        const word = m[0].trim().match(/^[^\s"{]+/)[0];
        covered(start, start + word.length, scope, what);
      }
    }
    if (file === files.find((f) => f.endsWith('quickstart.llmw'))) {
      html += '<div>' + (line === '' ? '&nbsp;' : r.tokens.map((t) => `<span class="${t.scopes.slice(1).join(' ').replaceAll('.', '-')}">${line.slice(t.startIndex, t.endIndex).replaceAll('&', '&amp;').replaceAll('<', '&lt;')}</span>`).join('')) + '</div>\n';
    }
  });
}

const htmlAt = process.argv.indexOf('--html');
if (htmlAt > 0) {
  const css = `body{background:#1e1e1e;color:#d4d4d4;font:14px/1.45 'DejaVu Sans Mono',monospace;padding:16px}div{white-space:pre}
[class*=comment-line]{color:#6a9955}[class*=string-quoted]{color:#ce9178}[class*=constant-numeric]{color:#b5cea8}
[class*=keyword-other-block]{color:#569cd6;font-weight:bold}[class*=keyword-other-llmw]{color:#c586c0}[class*=keyword-operator]{color:#d4d4d4}
[class*=variable-other-property]{color:#9cdcfe}[class*=entity-name-function]{color:#dcdcaa}[class*=variable-parameter]{color:#9cdcfe;font-style:italic}
[class*=constant-language]{color:#569cd6}[class*=variable-other-metric]{color:#4ec9b0}`;
  fs.writeFileSync(process.argv[htmlAt + 1], `<!doctype html><meta charset="utf-8"><style>${css}</style><body>\n${html}</body>\n`);
}

const summary = Object.entries(counts).map(([k, v]) => `${v} ${k}s`).join(', ');
if (failures.length) {
  console.error(failures.slice(0, 40).join('\n'));
  console.error(`${failures.length} tokens without their scope (of ${summary})`);
  process.exit(1);
}
console.log(`grammar: ${files.length} examples tokenized; every one of ${summary} has its scope`);
