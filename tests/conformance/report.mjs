#!/usr/bin/env node
// Summarises a conformance output directory: one line per scenario, then `N passed, N failed`.
//
//   node report.mjs <results-dir> <requirements-revision> [scenario ...]
//   node report.mjs --list <requirements-revision>     (the set's client scenarios)
//
// A scenario passes when none of its checks is FAILURE (the conformance CLI's own rule under
// --requirements); WARNINGs are shown but do not fail it. Scenarios the requirement set runs
// but does not score (extensions, added-after-release, pending) are listed apart and do not
// count unless KEYBRIDGE_CONF_COUNT_UNSCORED=1. With explicit scenario names, exactly those
// are reported and all of them count. Exit status: 1 when anything counted failed.

import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const [outDir, revision, ...only] = process.argv.slice(2);
if (!outDir || !revision) {
  console.error('usage: report.mjs <results-dir> <revision> [scenario ...]');
  process.exit(2);
}

const reqFile = path.join(HERE, 'node_modules/@modelcontextprotocol/conformance/requirements', `${revision}.yaml`);
const req = YAML.parse(readFileSync(reqFile, 'utf8'));
const scored = new Set(req.client ?? []);
const notScored = new Map((req.not_scored ?? []).filter((e) => e.leg === 'client').map((e) => [e.scenario, e.reason]));
if (outDir === '--list') {
  // run.sh's sequential mode: every client scenario the requirement set runs, one a line.
  for (const s of [...scored, ...notScored.keys()]) console.log(s);
  process.exit(0);
}
const countUnscored = process.env.KEYBRIDGE_CONF_COUNT_UNSCORED === '1';
// Like the CLI's single-scenario verdict (not its --requirements exit code), a scenario whose
// checks all passed still fails when the client's own MCP flow did not complete, except in
// the scenarios that expect the client to give up (allowClientError in the suite's source).
const ALLOW_CLIENT_ERROR = new Set([
  'auth/scope-retry-limit',
  'auth/resource-mismatch',
  'auth/iss-supported-missing',
  'auth/iss-wrong-issuer',
  'auth/iss-unexpected',
  'auth/iss-normalized',
  'auth/metadata-issuer-mismatch',
  'http-invalid-tool-headers'
]);
const checksOnly = process.env.KEYBRIDGE_CONF_CHECKS_ONLY === '1';

// The runner writes <out>/<scenario>-<ISO timestamp with : and . as ->/checks.json, and the
// scenario name may contain '/'.
const TS = /-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;
const found = new Map();
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (!statSync(p).isDirectory()) continue;
    if (TS.test(name) && existsSync(path.join(p, 'checks.json'))) {
      const scenario = path.relative(outDir, p).replace(TS, '').split(path.sep).join('/');
      found.set(scenario, p);
    } else if (name !== 'work') {
      walk(p);
    }
  }
}
if (existsSync(outDir)) walk(outDir);

const expected = only.length > 0 ? only : [...scored, ...notScored.keys()];
const oneLine = (s) => String(s ?? '').replace(/\s+/g, ' ').trim().slice(0, 400);

let passed = 0;
let failed = 0;
const unscoredLines = [];
for (const scenario of expected) {
  const counts = only.length > 0 || scored.has(scenario) || countUnscored;
  const tag = counts ? '' : ` [not scored: ${notScored.get(scenario) ?? 'not in set'}]`;
  const dir = found.get(scenario);
  let line;
  let ok;
  if (!dir) {
    ok = false;
    line = `FAIL ${scenario}${tag} — no checks.json (scenario did not run or the runner crashed; see conformance.log)`;
  } else {
    const checks = JSON.parse(readFileSync(path.join(dir, 'checks.json'), 'utf8'));
    const failures = checks.filter((c) => c.status === 'FAILURE');
    const warnings = checks.filter((c) => c.status === 'WARNING');
    const nOk = checks.filter((c) => c.status === 'SUCCESS').length;
    ok = failures.length === 0;
    // What the client itself said at the end (client.mjs logs its outcome on stderr).
    let clientNote = '';
    let clientFailed = null;
    let stderr = '';
    try {
      stderr = readFileSync(path.join(dir, 'stderr.txt'), 'utf8');
    } catch {}
    const m = stderr.match(/scenario flow failed: ([^\n]*)/);
    if (m) clientFailed = oneLine(m[1]).slice(0, 200);
    else if (/giving up after/.test(stderr)) clientFailed = 'client.mjs timed out';
    else if (!/scenario flow completed/.test(stderr)) clientFailed = 'the client did not finish (killed by the runner timeout?)';
    if (clientFailed) clientNote = ` | client: ${clientFailed}`;
    if (ok && clientFailed && !ALLOW_CLIENT_ERROR.has(scenario) && !checksOnly) {
      ok = false;
      line = `FAIL ${scenario}${tag} — ${nOk} checks ok, but the client's MCP flow failed: ${clientFailed}`;
    } else if (ok) {
      const w = warnings.length
        ? ` (${warnings.length} warning(s), first: ${warnings[0].id}: ${oneLine(warnings[0].errorMessage ?? warnings[0].description)})`
        : '';
      line = `PASS ${scenario}${tag} — ${nOk} checks ok${w}${clientFailed ? ` | client gave up (allowed here): ${clientFailed}` : ''}`;
    } else {
      const f = failures[0];
      line =
        `FAIL ${scenario}${tag} — ${failures.length} failing check(s), first: ${f.id} (${f.name}): ` +
        `${oneLine(f.errorMessage ?? f.description)}${clientNote}`;
    }
  }
  if (counts) {
    console.log(line);
    if (ok) passed++;
    else failed++;
  } else {
    unscoredLines.push(line);
  }
}
if (unscoredLines.length) {
  console.log(`-- run by the ${revision} requirement set but not scored (not counted):`);
  for (const l of unscoredLines) console.log(`   ${l}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
