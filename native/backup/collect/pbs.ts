// PBS section (collect.md §4.1, §4.2), the twin of legacy/lib/collect-pbs.sh; the datastore scan is in scan.ts.
import { rmSync } from 'node:fs';
import { fsPath } from '../../core/bytes-path.js';
import { C_DIR, type Collector, lstatOf } from './collector.js';
import type { CommandStep } from './pve.js';

export function collectPbsFiles(c: Collector): boolean {
  const ok = c.tree('/etc/proxmox-backup', './etc/proxmox-backup', 'PBS configuration directory', 'WARNING', '',
    'Failed to collect PBS configuration directory - /etc/proxmox-backup - directory not found');
  const remote = `${c.staging}/etc/proxmox-backup/remote.cfg`;
  if (!c.config.BACKUP_REMOTE_CFG && lstatOf(remote) !== undefined) {
    c.log.info('Removing remote.cfg from backup as per configuration');
    rmSync(fsPath(remote), { force: true });
  }
  return ok;
}

export function pbsCommandSteps(): CommandStep[] {
  const d = `${C_DIR}/pbs`;
  const steps: CommandStep[] = [{ what: 'PBS version', dest: `${d}/version.txt`, severity: 'WARNING', argv: ['proxmox-backup-manager', 'version'] }];
  for (const what of ['datastore', 'user', 'acl', 'remote']) {
    steps.push({ what: `PBS ${what} list`, dest: `${d}/${what}_list.json`, severity: 'WARNING', argv: ['proxmox-backup-manager', what, 'list', '--output-format=json'] });
  }
  for (const what of ['sync', 'verify', 'prune']) {
    steps.push({ what: `PBS ${what} jobs`, dest: `${d}/${what}_jobs.json`, severity: 'WARNING', argv: ['proxmox-backup-manager', `${what}-job`, 'list', '--output-format=json'] });
  }
  steps.push({ what: 'PBS certificate', dest: `${d}/cert_info.txt`, severity: 'WARNING', argv: ['proxmox-backup-manager', 'cert', 'info'] });
  return steps;
}
