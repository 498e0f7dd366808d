// One list of flag domains: DOMAINS in native/switch/flags.ts is the source, and every other place that names the
// domains must name the same ones (docs/ARCHITECTURE.md "Domains and flags"). The list is read from the source,
// never written here, so adding a domain there makes this test name each place still to change.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { NATIVE_BACKUP_STAGES } from '../../native/backup/index.js';
import { flipVariants } from '../../native/parity/runner.js';
import { DOMAINS, FLAGS_SCHEMA } from '../../native/switch/flags.js';
import { NATIVE_DOMAINS } from '../../native/switch/native-domains.js';
import { STAGES, type StageName } from '../../native/switch/stages.js';
import { REPO } from './repo-files.js';

const SOURCE = [...DOMAINS].sort();
const LEGACY_LIBS = ['exit', 'log', 'config', 'cli', 'core', 'detect', 'collect', 'collect-system', 'collect-pve',
  'collect-pbs', 'collect-scan', 'datastores', 'archive', 'verify', 'backup', 'storage', 'metrics', 'notify',
  'orchestrator', 'security'];
const scratch = mkdtempSync(join(tmpdir(), 'pbk-domains-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sorted = (names: Iterable<string>): string[] => [...names].sort();

/** Runs bash with every legacy library loaded, as legacy/bin/proxmox-backup loads them. */
async function legacy(script: string, env: Record<string, string> = {}): Promise<string> {
  const libs = LEGACY_LIBS.map((lib) => `source '${join(REPO, 'legacy', 'lib', `${lib}.sh`)}'`).join('; ');
  return (await execa('bash', ['-c', `set -euo pipefail; ${libs}; ${script}`], { env })).stdout;
}

/** A PATH holding only the programs bin/switch-mode's node-less --target needs: no node on it. */
async function pathWithoutNode(): Promise<string> {
  const bin = join(scratch, 'no-node-bin');
  mkdirSync(bin, { recursive: true });
  for (const program of ['bash', 'dirname', 'readlink', 'mktemp', 'chmod', 'cp', 'mv', 'rm', 'sha256sum', 'grep', 'sort', 'cat']) {
    const found = (await execa('bash', ['-c', `command -v ${program}`])).stdout;
    symlinkSync(found, join(bin, program));
  }
  return bin;
}

describe(`every place names the domains of DOMAINS (${SOURCE.join(', ')})`, () => {
  it('the flags.json schema: defaults, canary and node overrides', () => {
    const { defaults, canary, nodes } = FLAGS_SCHEMA.properties;
    const domainsOf = (map: object): string[] => sorted(Object.keys((map as { properties: object }).properties));
    expect(domainsOf(defaults)).toEqual(SOURCE);
    expect(domainsOf(canary)).toEqual(SOURCE);
    expect(domainsOf(nodes.additionalProperties)).toEqual(SOURCE);
  });

  it('the repository flags.json', () => {
    const flags = JSON.parse(readFileSync(join(REPO, 'flags.json'), 'utf8')) as { defaults: Record<string, string> };
    expect(sorted(Object.keys(flags.defaults))).toEqual(SOURCE);
  });

  it('bin/switch-mode --target=bash without node (the rollback file it writes itself)', async () => {
    const base = join(scratch, 'target-base');
    mkdirSync(base, { recursive: true });
    const result = await execa(join(REPO, 'bin', 'switch-mode'), ['--target=bash'], {
      env: { PATH: await pathWithoutNode(), BASE_DIR: base }, extendEnv: false,
    });
    expect(result.stdout).toContain('Every domain set to bash');
    const written = JSON.parse(readFileSync(join(base, 'flags.json'), 'utf8')) as { defaults: Record<string, string> };
    expect(sorted(Object.keys(written.defaults))).toEqual(SOURCE);
    expect(new Set(Object.values(written.defaults))).toEqual(new Set(['bash']));
  });

  it('switch-mode status prints one line per domain', async () => {
    const base = join(scratch, 'status-base');
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'flags.json'), '{"version":1,"defaults":{}}\n');
    const result = await execa(join(REPO, 'bin', 'switch-mode'), ['status'], { env: { BASE_DIR: base } });
    const named = result.stdout.split('\n').map((line) => line.split(/\s+/)[0] ?? '').filter((word) => (DOMAINS as readonly string[]).includes(word));
    expect(sorted(named)).toEqual(SOURCE);
  });

  it('switch-mode set names every domain when refusing an unknown one', async () => {
    const base = join(scratch, 'set-base');
    mkdirSync(base, { recursive: true });
    const result = await execa(join(REPO, 'bin', 'switch-mode'), ['set', 'no-such-domain', 'ts'], { env: { BASE_DIR: base }, reject: false });
    expect(result.exitCode).toBe(2);
    const listed = /expected ([a-z|]+)\)/.exec(result.stderr)?.[1]?.split('|') ?? [];
    expect(sorted(listed)).toEqual(SOURCE);
  });

  it('legacy/lib/metrics.sh METRICS_DOMAINS (proxmox_backup_domain_implementation and the other migration series)', async () => {
    const out = await legacy('printf "%s\\n" "${METRICS_DOMAINS[@]}"');
    expect(sorted(out.split('\n'))).toEqual(SOURCE);
  });

  it('legacy/lib/orchestrator.sh orchestrator_migration_keys (IMPL_<DOMAIN> of the legacy pipeline)', async () => {
    const runDir = mkdtempSync(join(scratch, 'run-'));
    await legacy('orchestrator_migration_keys', { RUN_DIR: runDir });
    const keys = readFileSync(join(runDir, 'state.env'), 'utf8').split('\n').filter((l) => l !== '')
      .map((line) => /^IMPL_([A-Z]+)=/.exec(line)?.[1]?.toLowerCase() ?? `(not an IMPL_ key: ${line})`);
    expect(sorted(keys)).toEqual(SOURCE);
  });

  it('the parity harness --matrix: one single-domain flip per domain', () => {
    expect(sorted(flipVariants().map((v) => v.name))).toEqual(SOURCE.map((d) => `flip-${d}`));
    for (const variant of flipVariants()) expect(sorted(Object.keys(variant.flags))).toEqual(SOURCE);
  });

  it('native/switch/native-domains.ts: built domains are domains, and a domain with a registered native stage is built', () => {
    for (const domain of NATIVE_DOMAINS) expect(SOURCE).toContain(domain);
    const registered = Object.keys(NATIVE_BACKUP_STAGES).map((stage) => STAGES[stage as StageName].domain);
    for (const domain of registered) expect(NATIVE_DOMAINS.has(domain), domain).toBe(true);
  });

  it('the stage list assigns every stage to a domain', () => {
    for (const [stage, { domain }] of Object.entries(STAGES)) expect(SOURCE, stage).toContain(domain);
  });

  it('docs/ARCHITECTURE.md: one row per domain in the table of "Domains and flags"', () => {
    const text = readFileSync(join(REPO, 'docs', 'ARCHITECTURE.md'), 'utf8');
    const section = text.slice(text.indexOf('## Domains and flags'), text.indexOf('\n## ', text.indexOf('## Domains and flags') + 1));
    const rows = [...section.matchAll(/^\| `([a-z]+)` \|/gm)].map((m) => m[1] ?? '');
    expect(sorted(rows)).toEqual(SOURCE);
  });
});
