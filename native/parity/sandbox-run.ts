// One parity run (docs/ARCHITECTURE.md "Parity harness"): a host × scenario × flag variant in a fresh sandbox — its own BASE_DIR, config,
// storage directories, TMPDIR and pinned clock — through bin/switch-mode, as cron would run it; then every
// artefact normalised (native/compare/normalise/*).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import type { DomainName, FlagValue } from '../core/stage.js';
import { writeIntegrityManifest } from './integrity.js';
import { archiveManifest } from '../compare/normalise/archive.js';
import { normaliseChecksum, normaliseMetadata, normaliseState } from '../compare/normalise/env.js';
import { normaliseLog } from '../compare/normalise/log.js';
import { listTier } from '../compare/normalise/tiers.js';
import { replaceLiterals, type Replacements } from '../compare/normalise/tokens.js';
import { normaliseMetrics } from '../compare/normalise/metrics.js';
import { normaliseHttpLog, normaliseNotifyText } from '../compare/normalise/notify.js';
import { fakeSendmail, startHttpSink, TELEGRAM_OK, type HttpSink } from './sinks.js';
import type { Scenario } from './scenarios.js';
import { parseEnvFile } from '../core/state-env.js';
import { commandsArtefact, recordedCommands, requestedCommands } from '../core/host-record.js';

export const PBK_NOW = '1732500000';   // 2024-11-25 02:00:00 UTC

export interface Variant {
  readonly name: string;
  readonly flags: Readonly<Partial<Record<DomainName, FlagValue>>>;
}

/** Normalised artefacts by file name (the golden/HOST/SCENARIO/ layout) with the domain that produced each. */
export interface Artefacts {
  readonly files: Map<string, { domain: DomainName; text: string }>;
  readonly exitCode: number | undefined;
  readonly durationMs: number;
}

export interface HostInfo { readonly dir: string; readonly name: string; readonly type: string; readonly fqdn: string }

export function readHost(dir: string): HostInfo {
  const info = JSON.parse(readFileSync(join(dir, 'host.json'), 'utf8')) as { type?: string; fqdn?: string };
  return { dir, name: basename(dir), type: info.type ?? 'unknown', fqdn: info.fqdn ?? 'localhost' };
}

export const SANDBOX_CONFIG: Readonly<Record<string, string>> = {
  LOCAL_BACKUP_PATH: '${BASE_DIR}/backup', LOCAL_LOG_PATH: '${BASE_DIR}/log',
  PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics',
  // Owners differ between a root CI job and a user's machine: the permission step has its own tests.
  SET_BACKUP_PERMISSIONS: 'false',
  COMPRESSION_TYPE: 'zstd', COMPRESSION_MODE: 'standard', COMPRESSION_LEVEL: '3',
};

/** The test-only age identity of the harness (parity/age-test.key): its recipient encrypts, it decrypts. */
export function ageTestIdentity(codeDir: string): string {
  return join(codeDir, 'parity', 'age-test.key');
}

function encryptionConfig(scenario: Scenario, codeDir: string): Record<string, string> {
  if (scenario.encrypt !== true) return {};
  const text = readFileSync(ageTestIdentity(codeDir), 'utf8');
  const recipient = /# public key: (age1[a-z0-9]+)/.exec(text)?.[1];
  if (recipient === undefined) throw new Error(`${ageTestIdentity(codeDir)}: no public key line`);
  return { ENCRYPT_ARCHIVE: 'true', AGE_RECIPIENTS: recipient };
}

/** Secondary and cloud tiers inside the sandbox; the remote is defined in the sandbox's own rclone.conf. */
function tierConfig(scenario: Scenario, sandbox: string): Record<string, string> {
  writeFileSync(join(sandbox, 'rclone.conf'), '[parity-cloud]\ntype = local\n\n[parity-down]\ntype = webdav\nurl = http://127.0.0.1:9/\n',
    { mode: 0o600 });
  if (scenario.tiers === undefined) return {};
  return {
    ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary/backup', SECONDARY_LOG_PATH: '${BASE_DIR}/secondary/log',
    ENABLE_CLOUD_BACKUP: 'true', RCLONE_REMOTE: scenario.tiers === 'up' ? 'parity-cloud' : 'parity-down',
    CLOUD_BACKUP_PATH: join(sandbox, 'cloud', 'backup'), CLOUD_LOG_PATH: join(sandbox, 'cloud', 'log'),
    CLOUD_CONNECTIVITY_TIMEOUT: '5',
  };
}

async function prepareHost(host: HostInfo, scenario: Scenario, sandbox: string): Promise<string> {
  if (scenario.removeFiles === undefined || scenario.removeFiles.length === 0) return host.dir;
  const copy = join(sandbox, 'host');
  // GNU cp -a: fifos, sockets, modes and times as they are (the hostile host has all of them).
  const copied = await execa('cp', ['-a', '--', host.dir, copy], { reject: false });
  if (copied.exitCode !== 0) throw new Error(`cannot copy host ${host.dir}: ${copied.stderr}`);
  // The stubs in bin/ are relative links to ../../_stub/stub: the copy needs that sibling too.
  symlinkSync(join(host.dir, '..', '_stub'), join(sandbox, '_stub'));
  for (const file of scenario.removeFiles) rmSync(join(copy, 'root', file), { force: true });
  return copy;
}

function failingStubs(scenario: Scenario, sandbox: string): string | undefined {
  const failing = scenario.failingCommands ?? [];
  const broken = scenario.brokenDecompressors ?? [];
  if (failing.length === 0 && broken.length === 0) return undefined;
  const dir = join(sandbox, 'failing-bin');
  mkdirSync(dir);
  for (const command of failing) {
    writeFileSync(join(dir, command), `#!/bin/sh\necho "${command}: simulated failure" >&2\nexit 3\n`, { mode: 0o755 });
  }
  for (const command of broken) {
    // Decompression (-d, -dc, --decompress) fails; anything else runs the real program from /usr/bin.
    writeFileSync(join(dir, command), `#!/bin/sh\nfor a in "$@"; do case "$a" in -d*|--decompress) echo "${command}: simulated corruption" >&2; exit 1;; esac; done\n`
      + `exec /usr/bin/${command} "$@"\n`, { mode: 0o755 });
  }
  return dir;
}

/** Older archives of this host, one day apart before the run, with their sidecars (retention scenarios). */
function seedBackups(host: HostInfo, count: number, backupDir: string): void {
  mkdirSync(backupDir, { recursive: true });
  for (let day = 1; day <= count; day += 1) {
    const when = new Date((Number(PBK_NOW) - day * 86400) * 1000);
    const stamp = when.toISOString().replace('T', '_').replace(/:/g, '-').slice(0, 19);
    const name = `${host.type}-backup-${host.fqdn}-${stamp}.tar.zst`;
    writeFileSync(join(backupDir, name), `seeded ${stamp}\n`, { mode: 0o600 });
    writeFileSync(join(backupDir, `${name}.sha256`), `${'0'.repeat(64)}  ${name}\n`, { mode: 0o600 });
    for (const file of [name, `${name}.sha256`]) utimesSync(join(backupDir, file), when, when);
  }
}

export interface RunRequest {
  readonly host: HostInfo;
  readonly scenario: Scenario;
  readonly variant: Variant;
  readonly codeDir: string;
  /** The harness's own environment (its PATH follows the fixture host's bin/; the decompressors run with it). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly keep?: boolean;
  /**
   * Host commands (parity/README.md "Same inputs on both sides"): `record` makes this run the control, recording
   * every host command into that directory; `replay` gives this run the control's results instead of running them.
   */
  readonly hostCommands?: { readonly record: string } | { readonly replay: string };
}

export async function runInSandbox(request: RunRequest): Promise<Artefacts & { sandbox: string }> {
  const { host, scenario, variant } = request;
  const sandbox = mkdtempSync(join(tmpdir(), `pbk-parity-${host.name}-${scenario.name}-${variant.name}-`));
  try {
    const artefacts = await runIn(sandbox, request);
    return { ...artefacts, sandbox };
  } finally {
    if (request.keep !== true) rmSync(sandbox, { recursive: true, force: true });
  }
}

async function runIn(sandbox: string, request: RunRequest): Promise<Artefacts> {
  for (const dir of ['env', 'tmp']) mkdirSync(join(sandbox, dir));
  const sink = await startHttpSink([TELEGRAM_OK]);
  try {
    return await runWithSink(sandbox, request, sink);
  } finally {
    await sink.close();
  }
}

/** The notification channels of every parity run: e-mail through a recording sendmail, Telegram and a generic
 * webhook to the sink. */
function notifyConfig(scenario: Scenario, sandbox: string, sink: HttpSink): Record<string, string> {
  return {
    EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'admin@example.com', SENDMAIL_PATH: fakeSendmail(sandbox, scenario.notify === 'down' ? 75 : 0),
    // down: the discard port, closed on loopback (a port a sink just let go could be reused by a parallel run).
    TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: PARITY_BOT_TOKEN, TELEGRAM_CHAT_ID: '-1001234567890',
    TELEGRAM_API_BASE: scenario.notify === 'down' ? 'http://127.0.0.1:9' : sink.base,
    WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: `${scenario.notify === 'down' ? 'http://127.0.0.1:9' : sink.base}/webhook/parity-hook-token`,
  };
}

/** A well-formed, made-up bot token (notify.md §3.1): it only ever reaches the loopback sink. */
const PARITY_BOT_TOKEN = '1234567890:AAparity-harness_test_token_0123456789';

async function runWithSink(sandbox: string, request: RunRequest, sink: HttpSink): Promise<Artefacts> {
  const { host, scenario, variant, codeDir } = request;
  const config = { ...SANDBOX_CONFIG, ...notifyConfig(scenario, sandbox, sink), ...tierConfig(scenario, sandbox),
    ...encryptionConfig(scenario, codeDir), ...scenario.config };
  const configPath = join(sandbox, 'env', 'backup.env');
  writeFileSync(configPath, Object.entries(config).map(([k, v]) => `${k}="${v}"\n`).join(''));
  chmodSync(configPath, 0o600);
  writeIntegrityManifest(sandbox);   // installed like a node: the gate verifies, it does not create
  const hostDir = await prepareHost(host, scenario, sandbox);
  const failing = failingStubs(scenario, sandbox);
  if (scenario.seedBackups !== undefined) {
    seedBackups(host, scenario.seedBackups, join(sandbox, 'backup'));
    if (scenario.tiers === 'up') {
      seedBackups(host, scenario.seedBackups, join(sandbox, 'secondary', 'backup'));
      seedBackups(host, scenario.seedBackups, join(sandbox, 'cloud', 'backup'));
    }
  }
  const path = [failing, join(hostDir, 'bin'), request.env.PATH ?? '/usr/bin:/bin'].filter((p) => p !== undefined).join(':');
  const flagArgs = Object.entries(variant.flags).flatMap(([domain, value]) => ['--flag', `${domain}=${value}`]);
  const started = performance.now();
  const result = await execa(join(codeDir, 'bin', 'switch-mode'), ['run-backup', ...(scenario.args ?? []), ...flagArgs], {
    env: {
      PATH: path, SYSTEM_ROOT_PREFIX: join(hostDir, 'root'), BASE_DIR: sandbox, PBK_NOW, TZ: 'UTC', LC_ALL: 'C.UTF-8',
      TMPDIR: join(sandbox, 'tmp'), PBK_KEEP_RUN_DIR: '1', PBK_COMMAND_TIMEOUT: '3', HOME: sandbox,
      RCLONE_CONFIG: join(sandbox, 'rclone.conf'),
      ...(request.hostCommands === undefined ? {}
        : 'record' in request.hostCommands ? { PBK_RECORD_DIR: request.hostCommands.record } : { PBK_REPLAY_DIR: request.hostCommands.replay }),
    },
    extendEnv: false, reject: false, timeout: 300_000, stdin: 'ignore',
  });
  const durationMs = performance.now() - started;
  const artefacts = await collectArtefacts(sandbox, hostDir, result.stdout, result.stderr, result.exitCode, ageTestIdentity(codeDir), request.env);
  const replacements: Replacements = [[sandbox, '<SANDBOX>'], [hostDir, '<HOST>'], ...serverIdOf(sandbox)];
  artefacts.files.set('notify-http.log', { domain: 'notify', text: normaliseHttpLog(sink.requests, replacements) });
  const mail = join(sandbox, 'sendmail.log');
  artefacts.files.set('notify-mail.log', {
    domain: 'notify', text: existsSync(mail) ? normaliseNotifyText(readFileSync(mail, 'utf8'), replacements) : '(no mail)\n',
  });
  if (request.hostCommands !== undefined) {
    // What the control ran against what this run asked for: a command only one side wanted is a difference.
    const commands = 'record' in request.hostCommands ? recordedCommands(request.hostCommands.record) : requestedCommands(request.hostCommands.replay);
    artefacts.files.set('host-commands.txt', { domain: 'backup', text: replaceLiterals(commandsArtefact(commands), replacements) });
  }
  return { ...artefacts, durationMs };
}

function serverIdOf(sandbox: string): [string, string][] {
  try {
    const id = /^SERVER_ID=(\d{16})$/m.exec(readFileSync(join(sandbox, 'config', '.server_identity'), 'utf8'))?.[1];
    return id === undefined ? [] : [[id, '<SERVER_ID>']];
  } catch {
    return [];
  }
}

async function collectArtefacts(sandbox: string, hostDir: string, stdout: string, stderr: string,
  exitCode: number | undefined, ageIdentity: string, env: Readonly<Record<string, string | undefined>>): Promise<Omit<Artefacts, 'durationMs'>> {
  const files = new Map<string, { domain: DomainName; text: string }>();
  const runDirs = existsSync(join(sandbox, 'tmp')) ? readdirSync(join(sandbox, 'tmp')).filter((n) => n.startsWith('proxmox-backup-run.')) : [];
  const runDir = runDirs.length === 1 && runDirs[0] !== undefined ? join(sandbox, 'tmp', runDirs[0]) : undefined;
  const stateText = runDir !== undefined && existsSync(join(runDir, 'state.env')) ? readFileSync(join(runDir, 'state.env'), 'utf8') : '';
  const serverId = stateText === '' ? undefined : parseEnvFile(stateText).get('SERVER_ID');
  const replacements: Replacements = [
    [sandbox, '<SANDBOX>'], [hostDir, '<HOST>'], ...(runDir !== undefined ? [[runDir, '<RUN_DIR>'] as const] : []),
    ...(serverId !== undefined && serverId !== '' ? [[serverId, '<SERVER_ID>'] as const] : []),
  ];
  const put = (name: string, domain: DomainName, text: string): void => {
    files.set(name, { domain, text });
  };
  put('exit-code', 'orchestrator', `${exitCode ?? 'none'}\n`);
  put('console.txt', 'orchestrator', normaliseLog(stdout, replacements));
  const stderrLines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('Run directory kept (PBK_KEEP_RUN_DIR=1)'));
  put('stderr.txt', 'cli', normaliseLog(stderrLines.join('\n'), replacements));
  const logDir = join(sandbox, 'log');
  const logs = existsSync(logDir) ? readdirSync(logDir).filter((n) => n.endsWith('.log')).sort() : [];
  put('log.txt', 'orchestrator', logs.length === 0 ? '(no log file)\n'
    : logs.map((n) => `== ${n}\n${normaliseLog(readFileSync(join(logDir, n), 'utf8'), replacements)}`).join(''));
  for (const [domain, text] of normaliseState(stateText, replacements)) put(`state.${domain}.env`, domain, text);
  const backupFile = stateText === '' ? undefined : parseEnvFile(stateText).get('BACKUP_FILE');
  if (backupFile !== undefined && backupFile !== '' && existsSync(backupFile)) {
    put('manifest.txt', 'backup', await archiveManifest(backupFile, { env, ageIdentity, selfIds: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } }));
    if (existsSync(`${backupFile}.sha256`)) put('archive.sha256', 'backup', normaliseChecksum(readFileSync(`${backupFile}.sha256`, 'utf8')));
    if (existsSync(`${backupFile}.metadata`)) put('archive.metadata', 'backup', normaliseMetadata(readFileSync(`${backupFile}.metadata`, 'utf8')));
  }
  const prom = join(sandbox, 'metrics', 'proxmox_backup.prom');
  if (existsSync(prom)) put('metrics.prom', 'metrics', normaliseMetrics(replaceLiterals(readFileSync(prom, 'utf8'), replacements)));
  const tiers: [string, string][] = [['local backups', join(sandbox, 'backup')], ['local logs', logDir],
    ['secondary backups', join(sandbox, 'secondary', 'backup')], ['secondary logs', join(sandbox, 'secondary', 'log')],
    ['cloud backups', join(sandbox, 'cloud', 'backup')], ['cloud logs', join(sandbox, 'cloud', 'log')]];
  put('tiers.txt', 'storage', tiers.map(([label, dir]) => `[${label}]\n${listTier(dir, replacements)}`).join(''));
  return { files, exitCode };
}
