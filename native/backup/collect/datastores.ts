// Datastore discovery (collect.md §6), the twin of legacy/lib/datastores.sh: PBS datastores and PVE storages,
// sorted by type then name, one INFO line each.
import { readFileSync } from 'node:fs';
import { compareBytes, escPath, fromBytes, fsPath, toBytes } from '../../core/bytes-path.js';
import type { Collector } from './collector.js';
import { statOf } from './collector.js';
import { jsonObjects } from '../../core/json-objects.js';

export interface Datastore { readonly type: string; readonly name: string; readonly path: string; readonly comment: string }

/** json-fields.pl: tab-separated NAME PATH COMMENT lines of a JSON array, or undefined when it is not one. */
export function jsonFields(text: string, fields: readonly string[]): string[][] | undefined {
  const items = jsonObjects(text);
  if (items === undefined) return undefined;
  const rows: string[][] = [];
  for (const item of items) {
    rows.push(fields.map((field) => {
      const value = item[field];
      return typeof value === 'string' || typeof value === 'number' ? String(value).replace(/[\t\n\r]/g, ' ') : '';
    }));
  }
  return rows;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(fsPath(path), 'latin1');
  } catch {
    return undefined;
  }
}

function lines(text: string): string[] {
  const out = text.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

/** _ds_pbs_from_cfg: `datastore: NAME` sections with path/comment, until a blank line. */
function pbsFromCfg(c: Collector, add: (d: Datastore) => void): void {
  const cfg = `${c.srcRoot}/etc/proxmox-backup/datastore.cfg`;
  if (statOf(cfg)?.isFile() !== true) return;
  let name = '';
  let path = '';
  let comment = '';
  const flush = (): void => { if (name !== '' && path !== '') add({ type: 'PBS', name, path, comment: comment || 'No comment' }); };
  for (const line of lines(readText(cfg) ?? '')) {
    const head = /^datastore:[ \t]*([^ \t\n]+)/.exec(line);
    if (head !== null) {
      flush();
      name = head[1] ?? '';
      path = '';
      comment = '';
    } else if (line.replace(/[ \t\r\f\v]/g, '') === '') {
      flush();
      name = '';
      path = '';
      comment = '';
    } else if (name !== '') {
      const p = /^[ \t]+path[ \t]+(.*)$/.exec(line);
      const m = /^[ \t]+comment[ \t]+(.*)$/.exec(line);
      if (p !== null) path = p[1] ?? '';
      else if (m !== null) comment = m[1] ?? '';
    }
  }
  flush();
}

async function pbs(c: Collector, add: (d: Datastore) => void): Promise<void> {
  if (!c.hasProgram('proxmox-backup-manager')) return;
  const result = await c.commands.run(['proxmox-backup-manager', 'datastore', 'list', '--output-format=json']);
  const rows = result.status === 0 ? jsonFields(result.stdout.toString('utf8'), ['name', 'path', 'comment']) : undefined;
  if (rows === undefined || rows.length === 0) {
    pbsFromCfg(c, add);
    return;
  }
  for (const [name = '', path = '', comment = ''] of rows) if (path !== '') add({ type: 'PBS', name: toBytes(name), path: toBytes(path), comment: toBytes(comment) || 'No comment' });
}

/** _ds_storage_key: the first KEY line of section `TYPE: NAME` in storage.cfg. */
function storageKey(c: Collector, type: string, name: string, key: string): string | undefined {
  const text = readText(`${c.srcRoot}${toBytes(c.config.PVE_CONFIG_PATH).replace(/\/$/, '')}/storage.cfg`);
  if (text === undefined) return undefined;
  let inside = false;
  const keyLine = new RegExp(`^[ \\t]+${key.replace(/[-]/g, '\\-')}[ \\t]+(.*)$`);
  for (const line of lines(text)) {
    const head = /^([a-z0-9]+):[ \t]*([^ \t]+)/.exec(line);
    if (head !== null) inside = head[1] === type && head[2] === name;
    else if (inside) {
      const match = keyLine.exec(line);
      if (match !== null) return match[1] ?? '';
    }
  }
  return undefined;
}

function pveRow(c: Collector, name: string, type: string): Datastore | undefined {
  const key = (k: string): string | undefined => storageKey(c, type, name, k);
  switch (type) {
    case 'dir': return { type: 'PVE', name, path: key('path') ?? (name === 'local' ? '/var/lib/vz' : `/mnt/pve/${name}`), comment: 'dir (mixed)' };
    case 'nfs': case 'cifs': case 'glusterfs': return { type: 'PVE', name, path: key('path') ?? `/mnt/pve/${name}`, comment: `${type} (mixed)` };
    case 'btrfs': return { type: 'PVE', name, path: key('path') ?? `/mnt/btrfs/${name}`, comment: 'btrfs (btrfs)' };
    case 'zfspool': return { type: 'PVE', name, path: key('pool') ?? name, comment: 'zfspool (zfspool)' };
    case 'lvm': case 'lvmthin': return { type: 'PVE', name, path: key('vgname') ?? name, comment: `${type} (${type})` };
    case 'iscsi': case 'iscsidirect': return { type: 'PVE', name, path: key('target') ?? name, comment: `${type} (iscsi-remote)` };
    case 'pbs': return { type: 'PVE', name, path: key('datastore') ?? name, comment: 'pbs (pbs-remote)' };
    case 'rbd': case 'cephfs': return { type: 'PVE', name, path: key('pool') ?? key('fs-name') ?? name, comment: `${type} (ceph)` };
    default:
      c.log.debug(`Skipping PVE storage of unsupported type: ${name} (${type})`);
      return undefined;
  }
}

async function pve(c: Collector, add: (d: Datastore) => void): Promise<void> {
  if (!c.hasProgram('pvesm')) return;
  const result = await c.commands.run(['pvesm', 'status']);
  if (result.status !== 0) {
    c.log.warning('Failed to get PVE storage information');
    return;
  }
  for (const line of lines(result.stdout.toString('latin1'))) {
    const [name = '', type = '', status = ''] = line.trim().split(/[ \t]+/);
    if (name === '' || name === 'Name' || status !== 'active') continue;
    const row = pveRow(c, name, type);
    if (row !== undefined) add(row);
  }
}

function fallbacks(c: Collector, add: (d: Datastore) => void, manualName: string): void {
  const manual = toBytes(c.config.PBS_DATASTORE_PATH);
  if (manual !== '') add({ type: 'MANUAL', name: manualName, path: manual, comment: 'Manual configuration' });
  if (manualName === 'pbs_manual' && !c.config.AUTO_DETECT_DATASTORES
    && statOf(`${c.srcRoot}/var/lib/proxmox-backup/datastore`)?.isDirectory() === true) {
    add({ type: 'MANUAL', name: 'pbs_standard', path: '/var/lib/proxmox-backup/datastore', comment: 'Standard PBS location' });
  }
  for (const candidate of ['/var/lib/vz/dump', '/mnt/pve']) {
    if (statOf(`${c.srcRoot}${candidate}`)?.isDirectory() === true) add({ type: 'MANUAL', name: 'pve_standard', path: candidate, comment: 'Standard PVE location' });
  }
}

/** datastores_discover: every datastore and storage, sorted by type then name (`sort -t '|' -k1,1 -k2,2`). */
export async function discoverDatastores(c: Collector): Promise<Datastore[]> {
  const found: Datastore[] = [];
  const add = (d: Datastore): void => { found.push(d); };
  const fallback = (why: string): void => {
    c.log.warning(`No backup locations found - ${why} and no manual path set. Using default fallback.`);
    add({ type: 'FALLBACK', name: 'default', path: '/var/lib/proxmox-backup/datastore', comment: 'Default fallback' });
  };
  if (c.config.AUTO_DETECT_DATASTORES) {
    await pbs(c, add);
    await pve(c, add);
    if (found.length === 0) {
      const type = c.facts.PROXMOX_TYPE;
      if (type === 'pbs') c.log.warning('No datastores found on PBS system');
      else if (type === 'pve' || type === 'dual') c.log.warning('No storages found on PVE system');
      else c.log.warning('No PBS or PVE system detected');
      fallbacks(c, add, 'pbs_manual');
      if (found.length === 0) fallback('no datastore or storage detected');
    }
  } else {
    c.log.info('Auto-detection disabled, using manual configuration only');
    fallbacks(c, add, 'pbs_manual');
    if (found.length === 0) fallback('auto-detection disabled');
  }
  const line = (d: Datastore): string => `${d.type}|${d.name}|${d.path}|${d.comment}`;
  // `read` splits each line on '|' again: a field holding '|' moves the rest into the comment, as in legacy.
  const sorted = found.map((d) => {
    const [type = '', name = '', path = '', ...rest] = line(d).split('|');
    return { type, name, path, comment: rest.join('|') };
  }).sort((a, b) => compareBytes(a.type, b.type) || compareBytes(a.name, b.name) || compareBytes(line(a), line(b)));
  for (const d of sorted) c.log.info(`[${d.type}] ${fromBytes(d.name)}: ${escPath(d.path)} (${fromBytes(d.comment)})`);
  return sorted;
}
