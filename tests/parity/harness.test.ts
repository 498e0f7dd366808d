// The parity harness catches what it is for (docs/ARCHITECTURE.md "Parity harness"): a difference injected into one domain of
// path B is reported with a readable diff naming that domain and fails the run; known differences accept
// exactly what they describe, expire, and go stale. Tool scenarios (parity/README.md "Tool scenarios") pass,
// say which implementation each side ran, and report a difference injected into the ts side of a tool.
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

describe('tool scenarios', () => {
  const tools: ParityOptions = { codeDir: REPO, env: process.env, clock: makeClock(), jobs: 2 };

  it('pass when both sides agree, step by step, and say which implementation each side ran', async () => {
    const report = await runParity({ ...tools, scenarios: ['tool-server-id', 'tool-security-check'] });
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.cases.map((c) => [c.host, c.scenario, c.tool])).toEqual([
      ['hostile', 'tool-security-check', 'security-check'], ['pve-single', 'tool-server-id', 'server-id']]);
    const [check, id] = report.cases;
    // security-check has its native twin: path B ran it; path A ran the legacy tool.
    expect(check?.runs.map((r) => [r.variant, r.implementation])).toEqual([['A-bash', 'bash'], ['B-ts', 'ts']]);
    expect(check?.runs.map((r) => r.exitCodes)).toEqual([[1, 0], [1, 0]]);
    // validate (missing), show, reset without --yes off a terminal, reset --yes, validate of a corrupt file
    expect(id?.runs[0]?.implementation).toBe('bash');
    expect(['bash', 'ts']).toContain(id?.runs[1]?.implementation);
    expect(id?.runs.map((r) => r.exitCodes)).toEqual([[1, 0, 2, 0, 2], [1, 0, 2, 0, 2]]);
    expect(id?.comparisons.map((c) => c.artefact)).toEqual(expect.arrayContaining(['steps.txt', 'step2.stdout.txt', 'step3.stderr.txt', 'log.txt', 'tree.txt']));
    expect(report.cases.flatMap((c) => c.comparisons).every((c) => c.verdict === 'same' && c.domain === 'cli')).toBe(true);
    const summary = formatSummary(report);
    expect(summary).toMatch(/hostile\s+tool-security-check\s+✓\s+·\s+·\s+·\s+·\s+·\s+·\s+A=B only\s+A-bash=1\/0 \(bash ran\) B-ts=1\/0 \(ts ran\)/);
    expect(summary).not.toContain('without golden files');
    const json = JSON.parse(JSON.stringify(report)) as { cases: { scenario: string; runs: { implementation?: string }[] }[] };
    expect(json.cases.find((c) => c.scenario === 'tool-security-check')?.runs[1]?.implementation).toBe('ts');
  });

  it('a difference injected into the ts side of a tool is a mismatch of domain cli, with its diff', async () => {
    const code = patchedCode('dist/native/cli/commands/security-check.js', 'issue(s)`', 'problem(s)`');
    const report = await runParity({ ...tools, scenarios: ['tool-security-check'], codeDirB: code });
    expect(report.ok).toBe(false);
    const differs = report.cases[0]?.comparisons.filter((c) => c.verdict === 'differs') ?? [];
    expect(differs.map((c) => [c.artefact, c.domain])).toEqual([['step1.stdout.txt', 'cli']]);
    expect(differs[0]?.diff).toMatch(/^\+<TS> \[WARNING\] Security check finished: \d+ problem\(s\)$/m);
    expect(formatDiffs(report)).toContain('hostile × tool-security-check: step1.stdout.txt differs (A-bash vs B-ts), domain cli');
    expect(formatSummary(report)).toMatch(/hostile\s+tool-security-check\s+✗/);
  });

  it('an unknown scenario name lists the tool scenarios too', async () => {
    await expect(runParity({ ...tools, scenarios: ['tool-nope'] })).rejects.toThrow(/unknown scenario 'tool-nope' \(known: .*tool-list.*tool-fix-permissions/);
  });
});
