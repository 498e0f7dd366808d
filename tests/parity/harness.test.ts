// The parity harness catches what it is for (docs/ARCHITECTURE.md "Parity harness"): a difference injected into one domain of
// path B is reported with a readable diff naming that domain and fails the run; known differences accept
// exactly what they describe, expire, and go stale.
import { cpSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiffs, formatSummary } from '../../native/parity/report.js';
import { makeClock } from '../../native/core/clock.js';
import { runParity, type ParityOptions } from '../../native/parity/runner.js';
import { REPO } from '../legacy/run.js';
import { patchedCode } from './patched-code.js';

const base: ParityOptions = { codeDir: REPO, env: process.env, clock: makeClock(), hosts: [join(REPO, 'parity', 'hosts', 'pve-single')], scenarios: ['happy'], jobs: 2 };

describe('injected differences', () => {
  it('a change in the native backup stage run by path B is caught and named "backup"', async () => {
    const code = patchedCode('dist/native/backup/collect/index.js', '    c.finishDirs();\n', "    c.generated('./etc/injected.cfg', 'x\\n');\n    c.finishDirs();\n");
    const report = await runParity({ ...base, codeDirB: code });
    expect(report.ok).toBe(false);
    const manifest = report.cases[0]?.comparisons.find((c) => c.left === 'A-bash' && c.artefact === 'manifest.txt');
    expect(manifest?.verdict).toBe('differs');
    expect(manifest?.domain).toBe('backup');
    expect(manifest?.diff).toMatch(/^\+"\.\/etc\/injected\.cfg" f /m);
    const text = formatDiffs(report);
    expect(text).toContain('pve-single × happy: manifest.txt differs (A-bash vs B-ts), domain backup');
    // cli ✓, orchestrator ✗ (log), security · (no artefact), backup ✗; storage, notify and metrics follow from the counts
    expect(formatSummary(report)).toMatch(/pve-single\s+happy\s+✓\s+✗\s+·\s+✗/);
  });

  it('a change in the TS orchestrator is caught and named "orchestrator"; a known difference accepts exactly it', async () => {
    const code = patchedCode('dist/native/switch/orchestrator.js', "'Checking dependencies'", "'Checking dependencies now'");
    const report = await runParity({ ...base, codeDirB: code });
    expect(report.ok).toBe(false);
    const log = report.cases[0]?.comparisons.find((c) => c.left === 'A-bash' && c.artefact === 'log.txt');
    expect(log?.domain).toBe('orchestrator');
    expect(log?.diff).toContain('+<TS> [STEP] Checking dependencies now');
    expect(report.cases[0]?.comparisons.filter((c) => c.verdict === 'differs').every((c) => c.domain === 'orchestrator')).toBe(true);

    const known = join(mkdtempSync(join(tmpdir(), 'pbk-known-')), 'known-differences.json');
    const entries = [
      { match: { artefact: 'log.txt', line: 'Checking dependencies' }, reason: 'wording change under review', expires: '2099-12-31' },
      { match: { host: 'pve-*', artefact: '*.txt', line: 'Checking dependencies' }, reason: 'same, any text artefact', expires: '2099-12-31' },
      { match: { line: 'never matches anything' }, reason: 'left over', expires: '2099-12-31' },
    ];
    writeFileSync(known, JSON.stringify({ entries }));
    const accepted = await runParity({ ...base, codeDirB: code, knownDifferencesPath: known });
    expect(accepted.ok).toBe(true);
    expect(accepted.cases[0]?.comparisons.some((c) => c.verdict === 'accepted')).toBe(true);
    expect(accepted.stale.map((e) => e.reason)).toEqual(['left over']);

    writeFileSync(known, JSON.stringify({ entries: [{ ...entries[1], expires: '2020-01-01' }] }));
    const expired = await runParity({ ...base, codeDirB: code, knownDifferencesPath: known });
    expect(expired.ok).toBe(false);
    expect(expired.errors).toEqual(['known difference expired on 2020-01-01: same, any text artefact']);
  });
});

describe('hosts outside parity/hosts', () => {
  it('are compared A = B only and reported as having no golden files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-host-'));
    const host = join(dir, 'pve-single');
    cpSync(join(REPO, 'parity', 'hosts', 'pve-single'), host, { recursive: true, verbatimSymlinks: true });
    symlinkSync(join(REPO, 'parity', 'hosts', '_stub'), join(dir, '_stub'));
    const report = await runParity({ ...base, hosts: [host] });
    expect(report.ok).toBe(true);
    expect(report.cases[0]?.golden).toBe('none');
    expect(report.cases[0]?.comparisons.every((c) => c.left === 'A-bash')).toBe(true);
    expect(formatSummary(report)).toContain('1 case(s) without golden files: compared A = B only');
  });
});
