// Tool runs of the parity harness (parity/README.md "Tool scenarios"): each tool scenario on path A (flags.json
// `cli: bash`) and path B (`cli: ts`), each in its own copy of a sandbox prepared once per seed, every step
// through bin/switch-mode as an operator would type it; the artefacts normalised like a backup run's and
// compared A = B (tool output depends on the machine's compressor and host, so there are no golden files).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { DOMAINS, type DomainName } from '../core/stage.js';
import { compareSets, type ArtefactSet } from './compare.js';
import type { KnownDifference } from '../compare/known-differences.js';
import { writeIntegrityManifest } from './integrity.js';
import { normaliseLog } from '../compare/normalise/log.js';
import { replaceLiterals, type Replacements } from '../compare/normalise/tokens.js';
import { treeManifest } from '../compare/normalise/tree.js';
import { pool } from './pool.js';
import type { CaseResult } from './runner.js';
import { PBK_NOW, readHost, runInSandbox, SANDBOX_CONFIG, type Variant } from './sandbox-run.js';
import type { Scenario } from './scenarios.js';
import type { ToolContext, ToolScenario, ToolSeed } from './tool-scenarios.js';

export interface ToolRunOptions {
  readonly codeDir: string;
  readonly codeDirB?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly jobs: number;
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
  readonly known: readonly KnownDifference[];
  readonly used: Set<KnownDifference>;
  /** Path A and path B of the backup runs: only their names are used here. */
  readonly variants: readonly [Variant, Variant];
}

type Files = Map<string, { domain: DomainName; text: string }>;

interface ToolSide {
  readonly exitCodes: readonly number[];
  /** What bin/switch-mode ran for this side: `resolve-tool` asked in the side's sandbox. */
  readonly implementation: string;
  readonly files: Files;
  readonly durationMs: number;
  readonly sandbox: string;
}

/** The backup seed: one bash run of pve-single with secondary and cloud (an rclone `type = local` remote) on. */
const BACKUP_SEED: Scenario = {
  name: 'tool-seed', description: 'the sandbox every backup-seeded tool scenario is a copy of', tiers: 'up', seedBackups: 2,
  config: { MAX_LOCAL_BACKUPS: '5', MAX_SECONDARY_BACKUPS: '5', MAX_CLOUD_BACKUPS: '5' }, inDefault: false,
};

async function makeSeed(seed: ToolSeed, options: ToolRunOptions): Promise<string> {
  if (seed === 'backup') {
    const host = readHost(join(options.codeDir, 'parity', 'hosts', 'pve-single'));
    const run = await runInSandbox({ host, scenario: BACKUP_SEED, variant: options.variants[0], codeDir: options.codeDir, env: options.env, keep: true });
    if (run.exitCode !== 0) throw new Error(`tool seed backup run failed (exit ${run.exitCode ?? 'none'}): ${run.files.get('console.txt')?.text ?? ''}`);
    options.progress?.(`ran tool seed (pve-single backup, three tiers): exit 0 in ${(run.durationMs / 1000).toFixed(1)} s`);
    return run.sandbox;
  }
  const sandbox = mkdtempSync(join(tmpdir(), 'pbk-parity-tool-seed-bare-'));
  for (const dir of ['env', 'tmp', 'backup', 'log']) mkdirSync(join(sandbox, dir));
  writeFileSync(join(sandbox, 'env', 'backup.env'), Object.entries(SANDBOX_CONFIG).map(([k, v]) => `${k}="${v}"\n`).join(''), { mode: 0o600 });
  writeFileSync(join(sandbox, 'VERSION'), '0.0.0\n');
  return sandbox;
}

/** The copy's backup.env: the seed's with the seed's path as `${BASE_DIR}` and the scenario's keys replacing the seed's. */
function rewriteConfig(copy: string, seed: string, config: Readonly<Record<string, string>>): void {
  const path = join(copy, 'env', 'backup.env');
  const lines = replaceLiterals(readFileSync(path, 'utf8'), [[seed, '${BASE_DIR}']]).split('\n')
    .filter((l) => l !== '' && !Object.keys(config).some((k) => l.startsWith(`${k}=`)));
  writeFileSync(path, [...lines, ...Object.entries(config).map(([k, v]) => `${k}="${v}"`)].map((l) => `${l}\n`).join(''));
}

function flagsJson(cli: string): string {
  const defaults = Object.fromEntries(DOMAINS.map((d) => [d, d === 'cli' ? cli : 'bash']));
  return `${JSON.stringify({ version: 1, defaults, canary: {}, nodes: {}, fallback: false }, null, 2)}\n`;
}

function newestArchive(sandbox: string): { archive: string; name: string } {
  const dir = join(sandbox, 'backup');
  const name = existsSync(dir) ? readdirSync(dir).filter((n) => /-2024-11-25_02-00-00\.tar(\.[a-z]+)?$/.test(n)).sort()[0] : undefined;
  return { archive: name === undefined ? join(dir, 'none') : join(dir, name), name: name ?? 'none' };
}

const fill = (arg: string, c: ToolContext): string => arg.replaceAll('{SANDBOX}', c.sandbox).replaceAll('{ARCHIVE}', c.archive).replaceAll('{NAME}', c.name);

function serverIds(sandbox: string): string[] {
  try {
    const id = /^SERVER_ID=(\d{16})$/m.exec(readFileSync(join(sandbox, 'config', '.server_identity'), 'utf8'))?.[1];
    return id === undefined || id === '0000000000000000' ? [] : [id];
  } catch {
    return [];
  }
}

/** The sandbox tree after the steps: modes and contents; the cli flag's own files and the log files (compared in
 * log.txt) by name only; the run's temp directories are the tools' business. */
function treeArtefact(sandbox: string, replacements: Replacements): string {
  return treeManifest(sandbox).split('\n').filter((l) => l !== '' && !l.startsWith('"./tmp/'))
    .map((l) => {
      if (/^"\.\/(flags\.json|config\/integrity\.sha256|log\/[^"]*|secondary\/log\/[^"]*|cloud\/log\/[^"]*)" f /.test(l)) {
        return l.replace(/ \d+ ([0-9a-f]{64}|<unreadable>|-)$/, ' <SIZE> <SHA>');
      }
      return l;
    })
    .map((l) => `${replaceLiterals(l, replacements)}\n`).join('');
}

/** The scenario's own copy of the seed, made once: its backup.env (paths under `${BASE_DIR}`, so both sides'
 * copies hold the same bytes), an all-bash flags.json, then `prepare` (damaged archives, an encrypted copy, modes):
 * whatever it makes, random or not, both sides get the same. */
async function makeBase(scenario: ToolScenario, seed: string, codeDir: string): Promise<string> {
  const base = mkdtempSync(join(tmpdir(), `pbk-parity-${scenario.name}-base-`));
  await copyTree(seed, base);
  for (const dir of ['tmp', 'log']) {
    rmSync(join(base, dir), { recursive: true, force: true });
    mkdirSync(join(base, dir));
  }
  rewriteConfig(base, seed, scenario.config ?? {});
  writeFileSync(join(base, 'flags.json'), flagsJson('bash'), { mode: 0o640 });
  scenario.prepare?.({ sandbox: base, codeDir, ...newestArchive(base) });
  return base;
}

async function copyTree(from: string, to: string): Promise<void> {
  rmSync(to, { recursive: true, force: true });
  // GNU cp -a: modes, fifos and symlinks as they are.
  const copied = await execa('cp', ['-a', '--', from, to], { reject: false });
  if (copied.exitCode !== 0) throw new Error(`cannot copy ${from}: ${copied.stderr}`);
}

async function runSide(scenario: ToolScenario, base: string, seed: string, side: 'A' | 'B', options: ToolRunOptions): Promise<ToolSide> {
  const codeDir = side === 'A' ? options.codeDir : options.codeDirB ?? options.codeDir;
  const variant = options.variants[side === 'A' ? 0 : 1];
  const sandbox = mkdtempSync(join(tmpdir(), `pbk-parity-${scenario.name}-${variant.name}-`));
  try {
    await copyTree(base, sandbox);
    return await runSideIn(scenario, seed, sandbox, codeDir, side === 'A' ? 'bash' : 'ts', options);
  } finally {
    if (options.keep !== true) rmSync(sandbox, { recursive: true, force: true });
  }
}

/** What bin/switch-mode runs for TOOL with this sandbox's flags (`resolve-tool`, the launcher's own question),
 * asked once per launcher × tool × cli flag: every sandbox of a side has the same flags.json. */
const resolved = new Map<string, Promise<string>>();
function resolveTool(launcher: string, tool: string, env: Readonly<Record<string, string>>): Promise<string> {
  const key = `${launcher}\0${tool}\0${readFileSync(join(env.BASE_DIR ?? '', 'flags.json'), 'utf8')}`;
  let answer = resolved.get(key);
  if (answer === undefined) {
    answer = execa(launcher, ['resolve-tool', tool], { env, extendEnv: false, reject: false, stdin: 'ignore' }).then((asked) => (
      asked.exitCode === 0 && asked.stdout.trim() !== '' ? asked.stdout.trim() : `unknown (resolve-tool exit ${asked.exitCode ?? 'none'})`));
    resolved.set(key, answer);
  }
  return answer;
}

async function runSideIn(scenario: ToolScenario, seed: string, sandbox: string, codeDir: string, cli: string, options: ToolRunOptions): Promise<ToolSide> {
  writeFileSync(join(sandbox, 'flags.json'), flagsJson(cli));
  // Installed like a node: flags.json and backup.env recorded (the mode of config/ as prepare left it).
  const configMode = statSync(join(sandbox, 'config'), { throwIfNoEntry: false })?.mode;
  writeIntegrityManifest(sandbox);
  if (configMode !== undefined) chmodSync(join(sandbox, 'config'), configMode & 0o7777);
  const context: ToolContext = { sandbox, codeDir, ...newestArchive(sandbox) };
  const hostDir = join(options.codeDir, 'parity', 'hosts', scenario.host);
  const env = {
    PATH: `${join(hostDir, 'bin')}:${options.env.PATH ?? '/usr/bin:/bin'}`, SYSTEM_ROOT_PREFIX: join(hostDir, 'root'), BASE_DIR: sandbox,
    PBK_NOW, TZ: 'UTC', LC_ALL: 'C.UTF-8', TMPDIR: join(sandbox, 'tmp'), HOME: sandbox, PBK_COMMAND_TIMEOUT: '3',
    RCLONE_CONFIG: join(sandbox, 'rclone.conf'),
  };
  const launcher = join(codeDir, 'bin', 'switch-mode');
  const implementation = await resolveTool(launcher, scenario.tool, env);
  const started = performance.now();
  const results: { args: string[]; exitCode: number; stdout: string; stderr: string }[] = [];
  for (const step of scenario.steps) {
    step.before?.(context);
    const args = step.args.map((a) => fill(a, context));
    const result = await execa(launcher, [scenario.tool, ...args], { env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 120_000 });
    results.push({ args, exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr });
  }
  const durationMs = performance.now() - started;
  const seedIds = serverIds(seed);
  const replacements: Replacements = [[sandbox, '<SANDBOX>'], [seed, '<SEED>'], [hostDir, '<HOST>'], [codeDir, '<CODE>'],
    ...[...seedIds, ...serverIds(sandbox)].map((id) => [id, '<SERVER_ID>'] as const)];
  const files: Files = new Map();
  const put = (name: string, text: string): void => {
    files.set(name, { domain: 'cli', text });
  };
  put('steps.txt', results.map((r, i) => `${i + 1}: ${scenario.tool} ${r.args.map((a) => replaceLiterals(a, replacements)).join(' ')} → exit ${r.exitCode}\n`).join(''));
  results.forEach((r, i) => {
    put(`step${i + 1}.stdout.txt`, normaliseLog(r.stdout, replacements));
    put(`step${i + 1}.stderr.txt`, normaliseLog(r.stderr, replacements));
  });
  const logDir = join(sandbox, 'log');
  const logs = existsSync(logDir) ? readdirSync(logDir).filter((n) => n.endsWith('.log')).sort() : [];
  put('log.txt', logs.length === 0 ? '(no log file)\n'
    : logs.map((n) => `== ${n}\n${normaliseLog(readFileSync(join(logDir, n), 'utf8'), replacements)}`).join(''));
  put('tree.txt', treeArtefact(sandbox, replacements));
  const integrity = join(sandbox, 'config', 'integrity.sha256');
  if (existsSync(integrity)) {
    // flags.json differs between the sides by design (the cli flag): its hash line is a token.
    put('integrity.sha256', readFileSync(integrity, 'utf8').replace(/^[0-9a-f]{64}( {2}flags\.json)$/m, '<FLAGS_SHA>$1'));
  }
  return { exitCodes: results.map((r) => r.exitCode), implementation, files, durationMs, sandbox };
}

/** Every chosen tool scenario, both sides, compared A = B; one case each. Seeds are made once and removed. */
export async function runToolCases(scenarios: readonly ToolScenario[], options: ToolRunOptions): Promise<CaseResult[]> {
  if (scenarios.length === 0) return [];
  const kinds = [...new Set(scenarios.map((s) => s.seed))];
  const seeds = new Map<ToolSeed, string>();
  try {
    const made = await pool(kinds, options.jobs, async (kind) => [kind, await makeSeed(kind, options)] as const);
    for (const [kind, dir] of made) seeds.set(kind, dir);
    const sides = (await pool(scenarios, options.jobs, async (scenario) => {
      const seed = seeds.get(scenario.seed);
      if (seed === undefined) throw new Error(`no seed ${scenario.seed}`);
      const base = await makeBase(scenario, seed, options.codeDir);
      try {
        const both: ToolSide[] = [];
        for (const side of ['A', 'B'] as const) {
          const result = await runSide(scenario, base, seed, side, options);
          const variant = options.variants[side === 'A' ? 0 : 1];
          options.progress?.(`ran tool ${scenario.name} × ${variant.name} (${result.implementation} ran): exit ${result.exitCodes.join('/')} in ${(result.durationMs / 1000).toFixed(1)} s`);
          both.push(result);
        }
        return both;
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    })).flat();
    return scenarios.map((scenario, index): CaseResult => {
      const a = sides[index * 2];
      const b = sides[index * 2 + 1];
      if (a === undefined || b === undefined) throw new Error(`tool scenario ${scenario.name} did not run`);
      const [nameA, nameB] = [options.variants[0].name, options.variants[1].name];
      const where = { host: scenario.host, scenario: scenario.name };
      const comparisons = compareSets(where, nameA, a.files as ArtefactSet, nameB, b.files as ArtefactSet, options.known, options.used);
      const run = (name: string, side: ToolSide): CaseResult['runs'][number] => ({
        variant: name, exitCode: Math.max(...side.exitCodes), durationMs: Math.round(side.durationMs), exitCodes: side.exitCodes,
        implementation: side.implementation, ...(options.keep === true ? { sandbox: side.sandbox } : {}),
      });
      return { host: scenario.host, scenario: scenario.name, tool: scenario.tool, golden: 'none', runs: [run(nameA, a), run(nameB, b)], comparisons };
    });
  } finally {
    if (options.keep !== true) for (const dir of seeds.values()) rmSync(dir, { recursive: true, force: true });
  }
}
