// `switch-mode list` on the ts side (restore.md §2): every archive of every host on the enabled tiers, newest
// first, as a table or --json on stdout, log lines on stderr — the options, lines and exit codes of
// `legacy/bin/proxmox-restore list`. bin/switch-mode routes here when the `cli` flag is ts.
import { esc } from '../../core/esc.js';
import type { ExitStatus } from '../../core/exit-code.js';
import { listJson, listTable, sortRows, type ListError, type ListRow } from '../../restore/archives.js';
import { cloudEnabled, listCloud, listDirectory, secondaryEnabled, type TierListing } from '../../restore/tiers.js';
import type { CliEnvironment } from '../environment.js';
import { openTool, usageError } from './restore-tool.js';

export async function runList(environment: CliEnvironment, args: readonly string[]): Promise<ExitStatus> {
  const tool = openTool(environment, args);
  if (typeof tool === 'number') return tool;
  const { log, config, exitCode, rest } = tool;
  tool.console.toStderr();   // log lines on stderr, the result on stdout
  let tier = 'all';
  let check = false;
  let json = false;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] ?? '';
    if (arg === '--tier') {
      const next = rest[i + 1];
      if (next === undefined) return usageError(environment.codeDir, '--tier needs a value');
      tier = next;
      i += 1;
    } else if (arg.startsWith('--tier=')) tier = arg.slice('--tier='.length);
    else if (arg === '--check') check = true;
    else if (arg === '--json') json = true;
    else return usageError(environment.codeDir, `Unknown option: ${esc(arg)}`);
  }
  if (!/^(local|secondary|cloud|all)$/.test(tier)) return usageError(environment.codeDir, `Unknown tier: ${esc(tier)}`);
  const settings = { config, env: environment.env };
  const secondary = secondaryEnabled(settings);
  const cloud = cloudEnabled(settings);
  if ((tier === 'secondary' && !secondary) || (tier === 'cloud' && !cloud)) {
    log.error(`Tier ${tier} is not enabled`);
    return 2;
  }
  const listings: TierListing[] = [];
  const wanted = (name: string): boolean => tier === 'all' || tier === name;
  const record = (listing: TierListing): void => {
    if (listing.error !== undefined) log.warning(`Cannot list ${listing.error.tier}: ${listing.error.message}`);
    listings.push(listing);
  };
  if (wanted('local')) record(await listDirectory('local', config.LOCAL_BACKUP_PATH, check, settings));
  if (secondary && wanted('secondary')) record(await listDirectory('secondary', config.SECONDARY_BACKUP_PATH, check, settings));
  if (cloud && wanted('cloud')) record(await listCloud(check, settings));
  const rows: ListRow[] = sortRows(listings.flatMap((l) => l.rows));
  const errors: ListError[] = listings.flatMap((l) => (l.error === undefined ? [] : [l.error]));
  if (rows.length === 0) log.info('No archives found');
  if (json) process.stdout.write(Buffer.from(listJson(rows, errors), 'latin1'));
  else if (rows.length > 0) process.stdout.write(listTable(rows));
  return exitCode.current;
}
