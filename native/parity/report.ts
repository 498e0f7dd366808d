// Human output of a parity run: the unified diffs of every mismatch (each naming its domain), then a summary
// table host × scenario × domain. The JSON report is the ParityReport itself.
import { DOMAINS } from '../core/stage.js';
import type { ParityReport } from './runner.js';

const MARK = { same: '✓', accepted: '~', differs: '✗' } as const;

export function formatDiffs(report: ParityReport): string {
  const out: string[] = [];
  for (const c of report.cases) {
    for (const x of c.comparisons) {
      if (x.verdict !== 'differs') continue;
      out.push(`--- ${c.host} × ${c.scenario}: ${x.artefact} differs (${x.left} vs ${x.right}), domain ${x.domain}\n${x.diff ?? ''}`);
    }
  }
  return out.join('\n');
}

export function formatSummary(report: ParityReport): string {
  const head = ['host', 'scenario', ...DOMAINS, 'golden', 'exit codes'];
  const rows: string[][] = report.cases.map((c) => {
    const cells = DOMAINS.map((domain) => {
      const mine = c.comparisons.filter((x) => x.domain === domain);
      if (mine.length === 0) return '·';
      if (mine.some((x) => x.verdict === 'differs')) return MARK.differs;
      if (mine.some((x) => x.verdict === 'accepted')) return MARK.accepted;
      return MARK.same;
    });
    // A tool scenario: every step's exit code, and which implementation bin/switch-mode actually ran.
    const codes = c.runs.map((r) => (r.exitCodes === undefined ? `${r.variant}=${r.exitCode ?? '?'}`
      : `${r.variant}=${r.exitCodes.join('/')} (${r.implementation ?? '?'} ran)`)).join(' ');
    return [c.host, c.scenario, ...cells, c.tool === undefined ? c.golden : 'A=B only', codes];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const lines = [line(head), ...rows.map(line)];
  lines.push('');
  lines.push('✓ equal   ~ equal up to a known difference   ✗ differs   · no artefact of that domain');
  for (const entry of report.expired) lines.push(`EXPIRED known difference (${entry.expires}): ${entry.reason}`);
  for (const entry of report.stale) lines.push(`stale known difference (matched nothing): ${entry.reason}`);
  for (const error of report.errors) lines.push(`ERROR: ${error}`);
  const noGolden = report.cases.filter((c) => c.golden === 'none' && c.tool === undefined);
  if (noGolden.length > 0) lines.push(`${noGolden.length} case(s) without golden files: compared A = B only`);
  lines.push(report.ok ? 'parity: OK' : 'parity: FAILED');
  return `${lines.join('\n')}\n`;
}
