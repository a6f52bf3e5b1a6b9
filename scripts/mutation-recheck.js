#!/usr/bin/env node
/*
 * The second pass of `npx projen mutation`. The first pass runs without Stryker's TypeScript
 * checker (on two cores it cost 2-3 s per mutant, ten times the tests), so a mutant that would not
 * compile runs as plain JavaScript and may survive. This pass applies each survivor to its file in
 * a TypeScript language service (the project's tsconfig, loaded once) and marks it as a compile
 * error when the mutated file has a type error the original has not. Then it prints the score per
 * file with and without those, as Stryker counts it: (killed + timeout) / (killed + timeout +
 * survived + no coverage).
 *
 * Reads reports/mutation/mutation.json; writes reports/mutation/score.md and
 * reports/mutation/survivors.md (each survivor that compiles, by file and line).
 */
const { readFileSync, writeFileSync } = require('fs');
const { join, resolve } = require('path');
const ts = require('typescript');

const ROOT = join(__dirname, '..');
const REPORT = join(ROOT, 'reports/mutation/mutation.json');
const SCORE = join(ROOT, 'reports/mutation/score.md');
const SURVIVORS = join(ROOT, 'reports/mutation/survivors.md');

function languageService() {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  });
  const overrides = new Map();
  let version = 0;
  const service = ts.createLanguageService({
    getScriptFileNames: () => parsed.fileNames,
    getScriptVersion: (f) => (overrides.has(f) ? `m${version}` : '0'),
    getScriptSnapshot: (f) => {
      const text = overrides.get(f) ?? (ts.sys.fileExists(f) ? ts.sys.readFile(f) : undefined);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => ROOT,
    getCompilationSettings: () => parsed.options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  }, ts.createDocumentRegistry());
  const errors = (file) => [...service.getSyntacticDiagnostics(file), ...service.getSemanticDiagnostics(file)].length;
  return {
    /** Type errors in `file` with `text` in place of its content. */
    errorsWith(file, text) {
      overrides.set(file, text);
      version++;
      try {
        return errors(file);
      } finally {
        overrides.delete(file);
        version++;
      }
    },
    errors,
  };
}

/** The file's text with the mutant's replacement (report locations: 1-based lines and columns). */
function mutated(text, mutant) {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const offset = (p) => lineStarts[p.line - 1] + p.column - 1;
  return text.slice(0, offset(mutant.location.start)) + mutant.replacement + text.slice(offset(mutant.location.end));
}

function counts(mutants) {
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, CompileError: 0, RuntimeError: 0, Ignored: 0 };
  for (const m of mutants) c[m.status] = (c[m.status] ?? 0) + 1;
  return c;
}
const score = (c) => (c.Killed + c.Timeout) / (c.Killed + c.Timeout + c.Survived + c.NoCoverage);
const pct = (x) => (Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(1)} %`);

const report = JSON.parse(readFileSync(REPORT, 'utf8'));
const service = languageService();
const rows = [];
const survivorLines = [];
const all = { first: [], checked: [] };
let notCompiling = 0;
for (const [file, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const path = resolve(ROOT, file);
  const original = readFileSync(path, 'utf8');
  const baseline = service.errors(path);
  const checked = mutants.map((m) => {
    if (m.status !== 'Survived') return m;
    if (service.errorsWith(path, mutated(original, m)) > baseline) {
      notCompiling++;
      return { ...m, status: 'CompileError' };
    }
    survivorLines.push(`- ${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} -> ${JSON.stringify(m.replacement)}`);
    return m;
  });
  all.first.push(...mutants);
  all.checked.push(...checked);
  const c = counts(checked);
  rows.push(`| ${file} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.CompileError + c.RuntimeError} | ${c.Ignored} `
    + `| ${pct(score(counts(mutants)))} | ${pct(score(c))} |`);
}
const first = counts(all.first);
const c = counts(all.checked);
const table = [
  '| file | killed | timeout | survived | no coverage | errors | static (not run) | score, tests only | score, survivors type-checked |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
  `| **all** | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.CompileError + c.RuntimeError} | ${c.Ignored} `
    + `| ${pct(score(first))} | ${pct(score(c))} |`,
].join('\n');
writeFileSync(SCORE, `${table}\n`);
writeFileSync(SURVIVORS, `${survivorLines.join('\n')}\n`);
console.log(`\n${table}\n\n${notCompiling} of ${first.Survived} survivors do not compile. Written to ${SCORE} and ${SURVIVORS}.`);
