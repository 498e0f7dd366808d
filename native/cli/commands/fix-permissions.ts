// `switch-mode fix-permissions` on the ts side (security.md §7): R1 on the installation and R2 on this host's
// backups and logs, with the options, lines, exit codes and run lock of legacy/bin/fix-permissions. The
// decisions are native/storage/permissions.ts's; native/storage/permissions-fs.ts walks and applies them.
import type { ConfigValues } from '../../core/config-keys.js';
import { esc } from '../../core/esc.js';
import { execCommand } from '../../core/exec.js';
import type { ExitStatus } from '../../core/exit-code.js';
import type { RunLog } from '../../core/log.js';
import { detectNames } from '../../backup/detect.js';
import { BACKUP_TYPES, type Owner } from '../../storage/permissions.js';
import { getentId, PermissionFixer } from '../../storage/permissions-fs.js';
import type { CliEnvironment } from '../environment.js';
import { answerUsage, openTool, parseToolArgs, underRunLock } from '../side-tool.js';

type Env = Readonly<Record<string, string | undefined>>;

export async function runFixPermissions(environment: CliEnvironment, args: readonly string[]): Promise<ExitStatus> {
  let dryRun = false;
  const parsed = parseToolArgs(args, (arg) => arg === '--dry-run' && (dryRun = true));
  if (typeof parsed === 'string' || parsed.help) return answerUsage(environment.codeDir, 'fix-permissions', parsed);
  const { baseDir, env } = environment;
  const tool = openTool(environment, parsed);
  if (tool === undefined) return 2;
  const { config, log, exitCode } = tool;
  const root = process.geteuid?.() === 0;
  if (config.SYSTEM_ROOT_PREFIX === '/' && !root) {
    process.stderr.write('ERROR: This tool must run as root\n');
    return 2;
  }
  return underRunLock(environment, log, dryRun, async () => {
    const { hostname } = await detectNames(env);
    if (!root) log.info('Not running as root: ownership left unchanged');
    const fixer = new PermissionFixer(log, dryRun);
    fixer.installation(baseDir, root);
    await fixBackupPaths(fixer, config, hostname, root, log, env);
    if (fixer.problems === 0) log.success(`Permissions fixed: ${fixer.changes} change(s)`);
    else log.warning(`Permissions fixed with ${fixer.problems} problem(s): ${fixer.changes} change(s)`);
    return exitCode.current;
  });
}

/** R2 on the four configured directories (security.md §7.3): F8 when off, F7 when the owner does not resolve. */
async function fixBackupPaths(fixer: PermissionFixer, config: ConfigValues, hostname: string, root: boolean,
  log: RunLog, env: Env): Promise<void> {
  if (!config.SET_BACKUP_PERMISSIONS) {
    log.skip('Backup and log path permissions not managed (SET_BACKUP_PERMISSIONS=false)');
    return;
  }
  const run = (argv: readonly string[]): ReturnType<typeof execCommand> => execCommand(argv, { timeoutMs: 10_000, env });
  const user = config.BACKUP_USER;
  const group = config.BACKUP_GROUP;
  const uid = await getentId('passwd', user, run);
  const gid = uid === undefined ? undefined : await getentId('group', group, run);
  if (uid === undefined || gid === undefined) {
    log.warning(`Backup user '${esc(user)}' or group '${esc(group)}' not found; backup and log paths left unchanged`);
    fixer.problems += 1;
    return;
  }
  const owner: Owner | null = root ? { uid, gid } : null;
  for (const dir of [config.LOCAL_BACKUP_PATH, config.LOCAL_LOG_PATH, config.SECONDARY_BACKUP_PATH, config.SECONDARY_LOG_PATH]) {
    if (dir !== '') fixer.backupDir(dir, hostname, BACKUP_TYPES, owner);
  }
}
