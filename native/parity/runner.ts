// The parity runner (docs/ARCHITECTURE.md "Parity harness"): for each host × scenario, path A (all bash) and path B (all ts), and with
// `matrix` each single-domain flip, every run in a fresh sandbox; A = B and each = golden/HOST/SCENARIO/;
// known differences applied; a summary table and a JSON report.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { wallDate, type Clock } from '../core/clock.js';
import { DOMAINS, type DomainName, type FlagValue } from '../core/stage.js';
import { compareSets, type ArtefactSet, type Comparison } from './compare.js';
import { isExpired, loadKnownDifferences, type KnownDifference } from '../compare/known-differences.js';
import { pool } from './pool.js';
import { readHost, runInSandbox, type Artefacts, type HostInfo, type RunRequest, type Variant } from './sandbox-run.js';
import { SCENARIOS, scenarioByName, type Scenario } from './scenarios.js';
import { runToolCases } from './tool-run.js';
import { TOOL_SCENARIOS, toolScenarioByName, type ToolScenario } from './tool-scenarios.js';

export const DEFAULT_HOSTS = ['pve-single', 'pve-cluster', 'pbs', 'dual', 'hostile'] as const;

const allOf = (value: FlagValue): Record<DomainName, FlagValue> =>
  Object.fromEntries(DOMAINS.map((d) => [d, value])) as Record<DomainName, FlagValue>;

export const PATH_A: Variant = { name: 'A-bash', flags: allOf('bash') };
export const PATH_B: Variant = { name: 'B-ts', flags: allOf('ts') };

/**
 * The single-domain flips of `--matrix`. With the orchestrator on bash the legacy pipeline runs every domain
 * (ARCHITECTURE), so a flip of another domain alone would change nothing: each flip is the TS orchestrator with
 * exactly that one domain on ts and the others on bash, plus the orchestrator alone.
 */
export function flipVariants(): Variant[] {
  return DOMAINS.map((domain) => {
    const flags = allOf('bash');
    flags.orchestrator = 'ts';
    flags[domain] = 'ts';
    return { name: `flip-${domain}`, flags };
  });
}

export interface ParityOptions {
  readonly codeDir: string;
  /** The harness's environment (PATH, handed to every sandbox run) and clock (today, for known-difference expiry). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  /** Host directories (fixture-host format); default: the five fixture hosts. */
  readonly hosts?: readonly string[];
  readonly scenarios?: readonly string[];
  readonly matrix?: boolean;
  readonly updateGolden?: boolean;
  readonly goldenDir?: string;
  readonly knownDifferencesPath?: string;
  /** Path B (and the flips) run from this code directory: how a test injects a difference. */
  readonly codeDirB?: string;
  readonly jobs?: number;
  readonly today?: string;
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
}

export interface CaseResult {
  readonly host: string;
  readonly scenario: string;
  /** A tool scenario's tool (tool-scenarios.ts); absent for a backup run. */
  readonly tool?: string;
  readonly golden: 'compared' | 'none' | 'updated';
  /** A tool scenario's run: the exit code of each step (exitCode is the highest) and what bin/switch-mode ran for
   * the tool on that side (`resolve-tool`: ts only where the native twin exists). */
  readonly runs: readonly { variant: string; exitCode: number | undefined; durationMs: number; sandbox?: string;
    exitCodes?: readonly number[]; implementation?: string }[];
  readonly comparisons: readonly Comparison[];
}

export interface ParityReport {
  readonly ok: boolean;
  readonly generatedAt: string;
  readonly cases: readonly CaseResult[];
  readonly expired: readonly KnownDifference[];
  readonly stale: readonly KnownDifference[];
  readonly errors: readonly string[];
}

function readGolden(dir: string): ArtefactSet | undefined {
  if (!existsSync(dir)) return undefined;
  const domains = JSON.parse(readFileSync(join(dir, 'domains.json'), 'utf8')) as Record<string, DomainName>;
  const set = new Map<string, { domain: DomainName; text: string }>();
  for (const [name, domain] of Object.entries(domains)) set.set(name, { domain, text: readFileSync(join(dir, name), 'utf8') });
  return set;
}

function writeGolden(dir: string, artefacts: ArtefactSet): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const domains: Record<string, DomainName> = {};
  for (const [name, { domain, text }] of [...artefacts].sort(([a], [b]) => a.localeCompare(b))) {
    writeFileSync(join(dir, name), text);
    domains[name] = domain;
  }
  writeFileSync(join(dir, 'domains.json'), `${JSON.stringify(domains, null, 2)}\n`);
}

function hostDirs(options: ParityOptions): string[] {
  if (options.hosts !== undefined && options.hosts.length > 0) return options.hosts.map((h) => resolve(h));
  return DEFAULT_HOSTS.map((h) => join(options.codeDir, 'parity', 'hosts', h));
}

function scenariosFor(host: HostInfo, options: ParityOptions): Scenario[] {
  const chosen = options.scenarios !== undefined && options.scenarios.length > 0
    ? options.scenarios.flatMap((name) => {
      const found = scenarioByName(name);
      if (found === undefined && toolScenarioByName(name) === undefined) {
        throw new Error(`unknown scenario '${name}' (known: ${[...SCENARIOS, ...TOOL_SCENARIOS].map((s) => s.name).join(', ')})`);
      }
      return found === undefined ? [] : [found];
    })
    : SCENARIOS.filter((s) => options.matrix === true || s.inDefault);
  // A scenario restricted to some fixture hosts runs on others only when those hosts are named explicitly.
  const explicitHosts = options.hosts !== undefined && options.hosts.length > 0;
  return chosen.filter((s) => explicitHosts || s.hosts === undefined || s.hosts.includes(host.name));
}

/** Tool scenarios: those named with --scenario; without it, the default set (or every one with --matrix) unless
 * --host names hosts (then the run is about those hosts' backups). */
function toolScenariosFor(options: ParityOptions): ToolScenario[] {
  if (options.scenarios !== undefined && options.scenarios.length > 0) {
    return TOOL_SCENARIOS.filter((s) => options.scenarios?.includes(s.name) === true);
  }
  if (options.hosts !== undefined && options.hosts.length > 0) return [];
  return TOOL_SCENARIOS.filter((s) => options.matrix === true || s.inDefault);
}

/** The fixture hosts' hazards (fifos, unreadable files…) exist only after parity/hosts/prepare has run. */
async function prepareHosts(codeDir: string, dirs: readonly string[]): Promise<void> {
  const fixtures = join(codeDir, 'parity', 'hosts');
  const ours = dirs.filter((d) => resolve(d, '..') === fixtures);
  if (ours.length === 0) return;
  const result = await execa(join(fixtures, 'prepare'), ours, { reject: false });
  if (result.exitCode !== 0) throw new Error(`parity/hosts/prepare failed: ${result.stderr}`);
}

export async function runParity(options: ParityOptions): Promise<ParityReport> {
  const errors: string[] = [];
  const knownPath = options.knownDifferencesPath ?? join(options.codeDir, 'parity', 'known-differences.json');
  const known = loadKnownDifferences(knownPath);
  const today = options.today ?? wallDate(options.clock).toISOString().slice(0, 10);
  const expired = known.filter((e) => isExpired(e, today));
  const live = known.filter((e) => !isExpired(e, today));
  const used = new Set<KnownDifference>();
  const goldenRoot = options.goldenDir ?? join(options.codeDir, 'golden');
  const dirs = hostDirs(options);
  const tools = toolScenariosFor(options);
  const toolHosts = tools.map((s) => join(options.codeDir, 'parity', 'hosts', s.host));
  await prepareHosts(options.codeDir, [...new Set([...dirs, ...toolHosts])]);
  const variants = [PATH_A, PATH_B, ...(options.matrix === true ? flipVariants() : [])];
  const cases = dirs.flatMap((dir) => {
    const host = readHost(dir);
    return scenariosFor(host, options).map((scenario) => ({ host, scenario }));
  });
  const jobs = options.jobs ?? Math.max(1, availableParallelism());
  const runs = cases.flatMap((c) => variants.map((variant) => ({ ...c, variant })));
  // A host that is not a fixture answers its commands live (df, free, ps… differ from one moment to the next): its
  // path A records every host command and the other paths replay that recording (each from its own copy), so
  // both sides see the same inputs. Those runs wait for their path A; fixture hosts' stubs are deterministic.
  const isLive = (host: HostInfo): boolean => !isFixture(options.codeDir, host);
  const recordings = new Map<string, string>();
  const recordingOf = (run: { host: HostInfo; scenario: Scenario }): string => {
    const key = `${run.host.dir}\0${run.scenario.name}`;
    let dir = recordings.get(key);
    if (dir === undefined) {
      dir = mkdtempSync(join(tmpdir(), `pbk-parity-record-${run.host.name}-${run.scenario.name}-`));
      recordings.set(key, dir);
    }
    return dir;
  };
  const runOne = async (run: (typeof runs)[number]): Promise<{ run: (typeof runs)[number]; artefacts: Artefacts & { sandbox: string } }> => {
    const codeDir = run.variant === PATH_A ? options.codeDir : options.codeDirB ?? options.codeDir;
    let hostCommands: RunRequest['hostCommands'];
    if (isLive(run.host) && run.variant === PATH_A) hostCommands = { record: recordingOf(run) };
    else if (isLive(run.host)) {
      const copy = mkdtempSync(join(tmpdir(), `pbk-parity-replay-${run.host.name}-${run.scenario.name}-`));
      cpSync(recordingOf(run), copy, { recursive: true });
      hostCommands = { replay: copy };
    }
    try {
      const artefacts = await runInSandbox({ host: run.host, scenario: run.scenario, variant: run.variant, codeDir, env: options.env, keep: options.keep, hostCommands });
      options.progress?.(`ran ${run.host.name} × ${run.scenario.name} × ${run.variant.name}: exit ${artefacts.exitCode ?? 'none'} in ${(artefacts.durationMs / 1000).toFixed(1)} s`);
      return { run, artefacts };
    } finally {
      if (hostCommands !== undefined && 'replay' in hostCommands) rmSync(hostCommands.replay, { recursive: true, force: true });
    }
  };
  const first = runs.filter((r) => !isLive(r.host) || r.variant === PATH_A);
  const results = [...await pool(first, jobs, runOne), ...await pool(runs.filter((r) => !first.includes(r)), jobs, runOne)];
  for (const dir of recordings.values()) rmSync(dir, { recursive: true, force: true });
  const caseResults: CaseResult[] = cases.map(({ host, scenario }): CaseResult => {
    const mine = results.filter((r) => r.run.host === host && r.run.scenario === scenario);
    const byVariant = new Map<string, Artefacts & { sandbox: string }>(mine.map((r) => [r.run.variant.name, r.artefacts]));
    const where = { host: host.name, scenario: scenario.name };
    const a = byVariant.get(PATH_A.name);
    if (a === undefined) throw new Error('path A did not run');
    const comparisons: Comparison[] = [];
    for (const variant of variants.slice(1)) {
      const other = byVariant.get(variant.name);
      if (other !== undefined) comparisons.push(...compareSets(where, PATH_A.name, a.files, variant.name, other.files, live, used));
    }
    const fixture = isFixture(options.codeDir, host);
    const goldenDir = join(goldenRoot, host.name, scenario.name);
    let golden: CaseResult['golden'] = 'none';
    if (fixture && options.updateGolden === true) {
      writeGolden(goldenDir, a.files);
      golden = 'updated';
    } else if (fixture) {
      const expected = readGolden(goldenDir);
      if (expected !== undefined) {
        golden = 'compared';
        for (const variant of [PATH_A, PATH_B]) {
          const actual = byVariant.get(variant.name);
          if (actual !== undefined) comparisons.push(...compareSets(where, 'golden', expected, variant.name, actual.files, live, used));
        }
      }
    }
    const runsOut = mine.map((r) => ({
      variant: r.run.variant.name, exitCode: r.artefacts.exitCode, durationMs: Math.round(r.artefacts.durationMs),
      ...(options.keep === true ? { sandbox: r.artefacts.sandbox } : {}),
    }));
    return { host: host.name, scenario: scenario.name, golden, runs: runsOut, comparisons };
  });
  caseResults.push(...await runToolCases(tools, {
    codeDir: options.codeDir, codeDirB: options.codeDirB, env: options.env, jobs, keep: options.keep, progress: options.progress,
    known: live, used, variants: [PATH_A, PATH_B],
  }));
  const stale = live.filter((e) => !used.has(e));
  for (const entry of expired) errors.push(`known difference expired on ${entry.expires}: ${entry.reason}`);
  const differs = caseResults.some((c) => c.comparisons.some((x) => x.verdict === 'differs'));
  return { ok: !differs && expired.length === 0 && errors.length === 0, generatedAt: wallDate(options.clock).toISOString(), cases: caseResults, expired, stale, errors };
}

function isFixture(codeDir: string, host: HostInfo): boolean {
  return resolve(host.dir, '..') === join(codeDir, 'parity', 'hosts');
}

export function listFixtureHosts(codeDir: string): string[] {
  const dir = join(codeDir, 'parity', 'hosts');
  return readdirSync(dir).filter((n) => existsSync(join(dir, n, 'host.json')));
}
