// Tool scenarios of the parity harness (parity/README.md "Tool scenarios", issue 19): a side tool run on the
// bash side and on the ts side of bin/switch-mode (the `cli` flag in the sandbox's flags.json) on copies of one
// prepared sandbox, several invocations in a row, each compared: exit code, stdout, stderr; then the log files
// and the sandbox tree the tool left behind.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export type ToolName = 'list' | 'verify' | 'restore' | 'security-check' | 'server-id' | 'fix-permissions';

/** What a tool scenario's sandbox is a copy of: `backup` one bash backup run of pve-single with the secondary
 * dir and the rclone cloud remote on (two older sets seeded in every tier), `bare` an installed, empty node. */
export type ToolSeed = 'backup' | 'bare';

/** The copy a step works in: its sandbox, the seed's newest local archive (in the copy) and the code dir. */
export interface ToolContext {
  readonly sandbox: string;
  readonly archive: string;
  readonly name: string;
  readonly codeDir: string;
}

export interface ToolStep {
  /** Arguments after the tool name; `{SANDBOX}`, `{ARCHIVE}`, `{NAME}` are replaced by the copy's values. */
  readonly args: readonly string[];
  /** Applied to the copy just before this step (after the previous steps ran). */
  readonly before?: (context: ToolContext) => void;
}

export interface ToolScenario {
  readonly name: string;
  readonly description: string;
  readonly tool: ToolName;
  /** The fixture host whose bin/ is first on PATH and whose root/ is SYSTEM_ROOT_PREFIX. */
  readonly host: string;
  readonly seed: ToolSeed;
  /** Extra backup.env lines of the copy (replacing the seed's). */
  readonly config?: Readonly<Record<string, string>>;
  /** Applied once to the copy, before the first step. */
  readonly prepare?: (context: ToolContext) => void;
  readonly steps: readonly ToolStep[];
  readonly inDefault: boolean;
}

const sha256 = (file: string): string => execFileSync('sha256sum', ['--', file], { encoding: 'utf8' }).split(' ')[0] ?? '';

/** A scratch directory of the copy holding damaged archives (not a tier: only `verify PATH` finds them). */
function scratch(context: ToolContext): string {
  const dir = join(context.sandbox, 'scratch');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The seed archive and its sidecars copied to scratch/ under the same name. */
function scratchCopy(context: ToolContext, sidecars: readonly string[] = ['.sha256', '.metadata']): string {
  const target = join(scratch(context), context.name);
  copyFileSync(context.archive, target);
  for (const suffix of sidecars) copyFileSync(`${context.archive}${suffix}`, `${target}${suffix}`);
  return target;
}

function setMetadata(file: string, key: string, value: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`));
}

/** The seed archive encrypted to the test recipient (parity/age-test.key) with matching sidecars, and the key. */
function encryptedCopy(context: ToolContext): void {
  const key = join(context.codeDir, 'parity', 'age-test.key');
  const recipient = /# public key: (age1[a-z0-9]+)/.exec(readFileSync(key, 'utf8'))?.[1] ?? '';
  const target = join(scratch(context), `${context.name}.age`);
  execFileSync('age', ['-r', recipient, '-o', target, '--', context.archive]);
  writeFileSync(`${target}.sha256`, `${sha256(target)}  ${context.name}.age\n`);
  copyFileSync(`${context.archive}.metadata`, `${target}.metadata`);
  setMetadata(`${target}.metadata`, 'ENCRYPTED', 'true');
  setMetadata(`${target}.metadata`, 'SHA256', sha256(target));
  copyFileSync(key, join(context.sandbox, 'age-test.key'));
  // A well-formed identity that matches no recipient (made once with age-keygen, test-only): fixed so that
  // both sides see the same file.
  writeFileSync(join(context.sandbox, 'wrong.key'), 'AGE-SECRET-KEY-1RGPX4DKF38HVAL4RSNU5CQMDM8ZZC8RDG64TTX3RAG6LUA2JZF2S96AQSN\n', { mode: 0o600 });
}

/** restore.md §8: an absolute name, a ../ name, a fifo and a member below a symlink entry (GNU tar -P --transform). */
function hostileArchive(context: ToolContext): void {
  const src = join(context.sandbox, 'hostile-src');
  mkdirSync(join(src, 'etc'), { recursive: true });
  writeFileSync(join(src, 'etc', 'ok.cfg'), 'fine\n');
  writeFileSync(join(src, 'x'), 'x\n');
  symlinkSync('/etc', join(src, 'a'));
  execFileSync('mkfifo', [join(src, 'fifo')]);
  const archive = join(scratch(context), 'pve-backup-evil-2024-11-25_02-00-00.tar');
  const tar = (append: boolean, to: string, members: readonly string[]): void => {
    execFileSync('tar', ['-C', src, '-P', '--format=pax', '--mtime=@1732500000', '--owner=0', '--group=0', '--numeric-owner',
      append ? '-rf' : '-cf', archive, `--transform=s,^\\./x$,${to},`, ...members]);
  };
  tar(false, '/etc/evil', ['./etc', './etc/ok.cfg', './a', './fifo', './x']);
  tar(true, '../escape', ['./x']);
  tar(true, './a/passwd', ['./x']);
  rmSync(src, { recursive: true, force: true });
  writeFileSync(`${archive}.sha256`, `${sha256(archive)}  pve-backup-evil-2024-11-25_02-00-00.tar\n`);
  chmodSync(archive, 0o600);
}

/** An empty restore target in the copy (restore resolves --to before anything else). */
const target = (context: ToolContext): void => {
  mkdirSync(join(context.sandbox, 'target'), { recursive: true });
};

const corruptIdentity = (context: ToolContext): void => {
  writeFileSync(join(context.sandbox, 'config', '.server_identity'), 'SERVER_ID=0000000000000000\nCHECKSUM=0000000000000000\n');
};

const me = userInfo().username;
const myGroup = (): string => {
  try {
    return execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
  } catch {
    return me;
  }
};

/** Modes an operator might find after a careless copy: everything group/world readable or writable. */
function wrongModes(context: ToolContext): void {
  const s = context.sandbox;
  for (const [path, mode] of [['env', 0o755], ['env/backup.env', 0o644], ['config', 0o777], ['config/.server_identity', 0o644],
    ['flags.json', 0o666], ['backup', 0o777], ['log', 0o755], [`backup/${context.name}`, 0o644],
    [`backup/${context.name}.sha256`, 0o666], ['secondary/backup', 0o700]] as const) {
    chmodSync(join(s, path), mode);
  }
}

export const TOOL_SCENARIOS: readonly ToolScenario[] = [
  {
    name: 'tool-list', description: 'list on three tiers (local, secondary dir, rclone remote): the table, then --check --json',
    tool: 'list', host: 'pve-single', seed: 'backup', inDefault: true,
    prepare: (c) => {
      // junk the listing skips, and a secondary sidecar that does not parse
      writeFileSync(join(c.sandbox, 'backup', `${c.name}.tmp`), 'partial');
      writeFileSync(join(c.sandbox, 'backup', 'notes.txt'), 'hello');
      writeFileSync(join(c.sandbox, 'secondary', 'backup', `${c.name}.sha256`), 'not a checksum line\n');
    },
    steps: [{ args: [] }, { args: ['--check', '--json'] }],
  },
  {
    name: 'tool-verify-good', description: 'verify a good archive by name (found on the local tier)',
    tool: 'verify', host: 'pve-single', seed: 'backup', inDefault: true,
    steps: [{ args: ['{NAME}'] }],
  },
  {
    name: 'tool-verify-truncated', description: 'verify an archive cut to 3000 bytes, its sidecar gone: the read fails (corrupt)',
    tool: 'verify', host: 'pve-single', seed: 'backup', inDefault: true,
    prepare: (c) => {
      truncateSync(c.archive, 3000);
      rmSync(`${c.archive}.sha256`);
    },
    steps: [{ args: ['{ARCHIVE}'] }],
  },
  {
    name: 'tool-verify-mislabelled', description: 'verify: a sidecar naming another hash (checksum mismatch); a .metadata that does not match',
    tool: 'verify', host: 'pve-single', seed: 'backup', inDefault: true,
    prepare: (c) => {
      writeFileSync(`${c.archive}.sha256`, `${'ab'.repeat(32)}  ${c.name}\n`);
      setMetadata(`${scratchCopy(c)}.metadata`, 'FILES_INCLUDED', '9999');
    },
    steps: [{ args: ['{ARCHIVE}'] }, { args: ['{SANDBOX}/scratch/{NAME}'] }],
  },
  {
    name: 'tool-verify-encrypted', description: 'verify an age-encrypted archive: no identity, the test identity, a wrong one',
    tool: 'verify', host: 'pve-single', seed: 'backup', inDefault: true, prepare: encryptedCopy,
    steps: [{ args: ['{SANDBOX}/scratch/{NAME}.age'] }, { args: ['{SANDBOX}/scratch/{NAME}.age', '--identity', '{SANDBOX}/age-test.key'] },
      { args: ['{SANDBOX}/scratch/{NAME}.age', '--identity', '{SANDBOX}/wrong.key'] }],
  },
  {
    name: 'tool-verify-hostile', description: 'verify a hostile archive (absolute, ../, fifo, below a symlink entry): every unsafe entry named',
    tool: 'verify', host: 'pve-single', seed: 'backup', inDefault: true, prepare: hostileArchive,
    steps: [{ args: ['{SANDBOX}/scratch/pve-backup-evil-2024-11-25_02-00-00.tar'] }],
  },
  {
    name: 'tool-restore', description: 'restore by name: every category to an empty root, again two categories over it (a safety backup), a dry-run',
    tool: 'restore', host: 'pve-single', seed: 'backup', inDefault: true, prepare: target,
    steps: [{ args: ['--archive', '{NAME}', '--all', '--to', '{SANDBOX}/target'] },
      { args: ['--archive', '{NAME}', '--categories', 'network,vm-configs', '--to', '{SANDBOX}/target'],
        before: (c) => {   // the same bytes and mtime on both sides: the safety archive holds this file
          writeFileSync(join(c.sandbox, 'target', 'etc', 'hosts'), 'changed\n');
          utimesSync(join(c.sandbox, 'target', 'etc', 'hosts'), 1732400000, 1732400000);
        } },
      { args: ['--archive', '{ARCHIVE}', '--all', '--dry-run', '--to', '{SANDBOX}/target'] }],
  },
  {
    name: 'tool-restore-encrypted', description: 'restore an age-encrypted archive: no identity (exit 2), the test identity',
    tool: 'restore', host: 'pve-single', seed: 'backup', inDefault: true,
    prepare: (c) => {
      encryptedCopy(c);
      target(c);
    },
    steps: [{ args: ['--archive', '{SANDBOX}/scratch/{NAME}.age', '--all', '--to', '{SANDBOX}/target'] },
      { args: ['--archive', '{SANDBOX}/scratch/{NAME}.age', '--all', '--to', '{SANDBOX}/target', '--identity', '{SANDBOX}/age-test.key'] }],
  },
  {
    name: 'tool-restore-hostile', description: 'restore a hostile archive: every refusal named, the rest written, nothing outside the target',
    tool: 'restore', host: 'pve-single', seed: 'backup', inDefault: true,
    prepare: (c) => {
      hostileArchive(c);
      target(c);
    },
    steps: [{ args: ['--archive', '{SANDBOX}/scratch/pve-backup-evil-2024-11-25_02-00-00.tar', '--all', '--to', '{SANDBOX}/target'] }],
  },
  {
    name: 'tool-security-check', description: 'security-check (full) on the hostile host: a check, then --update-hashes after a change',
    tool: 'security-check', host: 'hostile', seed: 'bare', inDefault: true,
    config: { FULL_SECURITY_CHECK: 'true', CHECK_NETWORK_SECURITY: 'true', CHECK_OPEN_PORTS: 'false' },
    steps: [{ args: [] }, { args: ['--update-hashes'], before: (c) => writeFileSync(join(c.sandbox, 'VERSION'), '0.0.0-parity\n') }],
  },
  {
    name: 'tool-server-id', description: 'server-id validate (missing), show (generates), reset without --yes, reset --yes, a corrupt file',
    tool: 'server-id', host: 'pve-single', seed: 'bare', inDefault: true,
    steps: [{ args: ['validate'] }, { args: ['show'] }, { args: ['reset'] }, { args: ['reset', '--yes'] },
      { args: ['validate'], before: corruptIdentity }],
  },
  {
    name: 'tool-fix-permissions', description: 'fix-permissions --dry-run, then a real run, on seeded wrong modes',
    tool: 'fix-permissions', host: 'pve-single', seed: 'backup', inDefault: true,
    config: { SET_BACKUP_PERMISSIONS: 'true', BACKUP_USER: me, BACKUP_GROUP: myGroup() },
    prepare: wrongModes,
    steps: [{ args: ['--dry-run'] }, { args: [] }],
  },
];

export function toolScenarioByName(name: string): ToolScenario | undefined {
  return TOOL_SCENARIOS.find((s) => s.name === name);
}
