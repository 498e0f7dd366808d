import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DomainName } from '../core/stage.js';
import { compareSets } from './compare.js';
import { acceptChanges, isExpired, loadKnownDifferences, type KnownDifference } from '../compare/known-differences.js';

const set = (entries: Record<string, [DomainName, string]>) =>
  new Map(Object.entries(entries).map(([name, [domain, text]]) => [name, { domain, text }]));
const where = { host: 'pve-single', scenario: 'happy' };

describe('compareSets', () => {
  it('reports equal artefacts as same and a changed one as a unified diff naming its domain', () => {
    const used = new Set<KnownDifference>();
    const result = compareSets(where, 'A-bash', set({ 'manifest.txt': ['backup', 'a\nb\n'], 'exit-code': ['orchestrator', '0\n'] }),
      'B-ts', set({ 'manifest.txt': ['backup', 'a\nc\n'], 'exit-code': ['orchestrator', '0\n'] }), [], used);
    expect(result.map((r) => [r.artefact, r.verdict])).toEqual([['exit-code', 'same'], ['manifest.txt', 'differs']]);
    const diff = result[1]?.diff ?? '';
    expect(diff).toContain('--- A-bash/manifest.txt\tdomain backup');
    expect(diff).toContain('+++ B-ts/manifest.txt\tdomain backup');
    expect(diff).toContain('-b\n+c');
  });

  it('treats an artefact present on one side only as a difference', () => {
    const result = compareSets(where, 'A', set({ 'archive.sha256': ['backup', 'x\n'] }), 'B', set({}), [], new Set());
    expect(result[0]?.verdict).toBe('differs');
    expect(result[0]?.diff).toContain('+(absent)');
  });

  it('accepts a difference only when every changed line is explained, and records what was used', () => {
    const entry: KnownDifference = { match: { artefact: 'log.txt', line: 'Retention' }, reason: 'retention wording', expires: '2099-01-01' };
    const used = new Set<KnownDifference>();
    const left = set({ 'log.txt': ['orchestrator', 'x\nRetention old\n'] });
    const accepted = compareSets(where, 'A', left, 'B', set({ 'log.txt': ['orchestrator', 'x\nRetention new\n'] }), [entry], used);
    expect(accepted[0]?.verdict).toBe('accepted');
    expect(used.has(entry)).toBe(true);
    const notAll = compareSets(where, 'A', left, 'B', set({ 'log.txt': ['orchestrator', 'y\nRetention new\n'] }), [entry], new Set());
    expect(notAll[0]?.verdict).toBe('differs');
  });
});

describe('known differences', () => {
  it('matches host, scenario and artefact globs', () => {
    const entry: KnownDifference = { match: { host: 'pve-*', scenario: 'happy', line: '^x$' }, reason: 'r', expires: '2099-01-01' };
    expect(acceptChanges([entry], { host: 'pve-single', scenario: 'happy', artefact: 'log.txt' }, ['x'])).toEqual([entry]);
    expect(acceptChanges([entry], { host: 'pbs', scenario: 'happy', artefact: 'log.txt' }, ['x'])).toBeUndefined();
  });

  it('knows an entry past its date is expired, the day itself still valid', () => {
    const entry: KnownDifference = { match: { line: '.' }, reason: 'r', expires: '2026-11-30' };
    expect(isExpired(entry, '2026-11-30')).toBe(false);
    expect(isExpired(entry, '2026-12-01')).toBe(true);
  });

  it('rejects a malformed file naming the file and the place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-known-'));
    const path = join(dir, 'known-differences.json');
    writeFileSync(path, JSON.stringify({ entries: [{ match: { line: 'x' }, reason: 'r', expires: 'tomorrow' }] }));
    expect(() => loadKnownDifferences(path)).toThrow(/known-differences.json: \/entries\/0\/expires must match pattern/);
    writeFileSync(path, JSON.stringify({ entries: [{ match: { line: '(' }, reason: 'r', expires: '2099-01-01' }] }));
    expect(() => loadKnownDifferences(path)).toThrow(/entries\[0\]\.match\.line is not a valid regular expression/);
    writeFileSync(path, '{ nope');
    expect(() => loadKnownDifferences(path)).toThrow(/not valid JSON/);
    expect(loadKnownDifferences(join(dir, 'absent.json'))).toEqual([]);
  });
});
