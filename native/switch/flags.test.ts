import { mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFlagsFile, writeFlagsFile } from './flags-file.js';
import { ALL_BASH, canaryBucket, formatFlags, parseFlags, resolveFlags, targetMatrix, type FlagMatrix } from './flags.js';

const node = { serverId: '1234567890123456', hostnames: ['pve1', 'pve1.lab.example'] };
const matrix = (over: Partial<FlagMatrix>): FlagMatrix => ({ ...ALL_BASH, ...over });
const valueOf = (m: FlagMatrix, domain: string, cli = {}) =>
  resolveFlags(m, node, cli).find((r) => r.domain === domain);

describe('flag resolution', () => {
  it('takes defaults, and bash for a domain not set', () => {
    const r = valueOf(matrix({ defaults: { backup: 'ts' } }), 'storage');
    expect(r).toEqual({ domain: 'storage', value: 'bash', rule: 'not set (bash)' });
    expect(valueOf(matrix({ defaults: { backup: 'ts' } }), 'backup')?.rule).toBe('default');
  });

  it('keeps a node in its canary cohort across runs (stable hash of the server id)', () => {
    const buckets = Array.from({ length: 5 }, () => canaryBucket(node.serverId));
    expect(new Set(buckets).size).toBe(1);
    const bucket = buckets[0] ?? 0;
    expect(valueOf(matrix({ canary: { backup: { value: 'ts', percent: bucket + 1 } } }), 'backup')?.value).toBe('ts');
    expect(valueOf(matrix({ canary: { backup: { value: 'ts', percent: bucket } } }), 'backup')?.value).toBe('bash');
  });

  it('spreads server ids over the buckets', () => {
    const buckets = new Set(Array.from({ length: 400 }, (_, i) => canaryBucket(String(i).padStart(16, '0'))));
    expect(buckets.size).toBeGreaterThan(90);
  });

  it('lets a node override (hostname or server id) beat the canary', () => {
    const m = matrix({ canary: { backup: { value: 'ts', percent: 100 } }, nodes: { 'pve1.lab.example': { backup: 'shadow' } } });
    expect(valueOf(m, 'backup')).toEqual({ domain: 'backup', value: 'shadow', rule: 'node override (pve1.lab.example)' });
    const byId = matrix({ nodes: { [node.serverId]: { notify: 'ts' } } });
    expect(valueOf(byId, 'notify')?.rule).toBe(`node override (${node.serverId})`);
  });

  it('lets the command line beat everything', () => {
    const m = matrix({ canary: { backup: { value: 'ts', percent: 100 } }, nodes: { pve1: { backup: 'ts' } } });
    expect(valueOf(m, 'backup', { backup: 'bash' })).toEqual({ domain: 'backup', value: 'bash', rule: 'command line' });
  });
});

describe('flags.json parsing', () => {
  it.each([
    { rule: 'not JSON', text: '{', reason: /not valid JSON/ },
    { rule: 'unknown domain', text: '{"version":1,"defaults":{"backups":"ts"}}', reason: /\/defaults must NOT have additional properties/ },
    { rule: 'bad value', text: '{"version":1,"defaults":{"backup":"rust"}}', reason: /\/defaults\/backup must be equal to one of the allowed values/ },
    { rule: 'percent out of range', text: '{"version":1,"defaults":{},"canary":{"backup":{"value":"ts","percent":150}}}', reason: /percent must be <= 100/ },
    { rule: 'wrong version', text: '{"version":2,"defaults":{}}', reason: /version must be equal to constant/ },
  ])('refuses $rule with a reason', ({ text, reason }) => {
    const parsed = parseFlags(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it('treats a broken or symlinked flags.json as all-bash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-flags-'));
    writeFileSync(join(dir, 'real.json'), formatFlags(targetMatrix(undefined, 'ts')));
    symlinkSync(join(dir, 'real.json'), join(dir, 'flags.json'));
    const loaded = readFlagsFile(join(dir, 'flags.json'));
    expect(loaded.ok).toBe(false);
    expect(loaded.matrix).toEqual(ALL_BASH);
  });
});

describe('atomic rewrite', () => {
  it('keeps the previous bytes as flags.json.prev and leaves no temp file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-flags-'));
    const path = join(dir, 'flags.json');
    writeFileSync(path, 'broken {');
    await writeFlagsFile(path, targetMatrix(undefined, 'bash'));
    expect(readFileSync(`${path}.prev`, 'utf8')).toBe('broken {');
    expect(readFlagsFile(path)).toEqual({ ok: true, matrix: targetMatrix(undefined, 'bash') });
    expect(statSync(path).mode & 0o777).toBe(0o640);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).sort()).toEqual(['flags.json', 'flags.json.prev']);
  });
});
