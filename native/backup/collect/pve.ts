// PVE section (collect.md §3), the twin of legacy/lib/collect-pve.sh: configuration files, commands, storages.
import { chmodSync, chownSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { compareBytes, escPath, fsPath, toBytes } from '../../core/bytes-path.js';
import { esc } from '../../core/esc.js';
import { C_DIR, type Collector, firstLine, listDir, statOf } from './collector.js';

export interface CommandStep {
  readonly what: string;
  readonly dest: string;
  readonly severity: 'WARNING' | 'debug';
  readonly argv: readonly string[];
}

const trim = (path: string): string => path.replace(/\/$/, '');

function fileMatches(path: string, pattern: RegExp): boolean {
  try {
    return pattern.test(readFileSync(fsPath(path), 'latin1'));
  } catch {
    return false;
  }
}

/** detect_is_cluster: corosync.conf that names a cluster, more than one node directory (probes on / only when P is /). */
export async function isCluster(c: Collector): Promise<boolean> {
  const conf = `${c.srcRoot}${trim(toBytes(c.config.COROSYNC_CONFIG_PATH))}/corosync.conf`;
  if (statOf(conf)?.isFile() === true && fileMatches(conf, /cluster_name|nodelist|ring0_addr/)) return true;
  const live = c.srcRoot === '';
  if (live && c.hasProgram('pvecm') && (await c.commands.run(['pvecm', 'status'])).status === 0) return true;
  const nodes = `${c.srcRoot}${trim(toBytes(c.config.PVE_CONFIG_PATH))}/nodes`;
  if (statOf(nodes)?.isDirectory() === true && listDir(nodes).filter((n) => !n.startsWith('.') && statOf(`${nodes}/${n}`)?.isDirectory() === true).length > 1) return true;
  return live && c.hasProgram('systemctl') && (await c.commands.run(['systemctl', 'is-active', 'corosync.service'])).status === 0;
}

/** detect_has_ceph: ceph.conf with an fsid/monitors, or a keyring; live probes only when the root is /. */
export async function hasCeph(c: Collector): Promise<boolean> {
  const dir = `${c.srcRoot}${trim(toBytes(c.config.CEPH_CONFIG_PATH))}`;
  if (statOf(`${dir}/ceph.conf`)?.isFile() === true && fileMatches(`${dir}/ceph.conf`, /fsid|mon_host|mon_initial_members/)) return true;
  if (listDir(dir).some((n) => !n.startsWith('.') && n.endsWith('.keyring') && statOf(`${dir}/${n}`) !== undefined)) return true;
  if (c.srcRoot !== '') return false;
  for (const unit of ['ceph-mon', 'ceph-osd', 'ceph-mds', 'ceph-mgr']) {
    if (c.hasProgram('systemctl') && (await c.commands.run(['systemctl', 'is-active', `${unit}.target`])).status === 0) return true;
  }
  if (c.hasProgram('pvesm')) {
    const status = await c.commands.run(['pvesm', 'status']);
    const out = status.stdout.toString('latin1');
    if (status.status === 0 && (out.includes('cephfs') || out.includes('rbd'))) return true;
  }
  if (c.hasProgram('ceph') && (await c.commands.run(['ceph', 'status'])).status === 0) return true;
  return (await c.commands.run(['pgrep', '-f', 'ceph-'])).status === 0;
}

/** V2: pmxcfs keeps config.db open; sqlite3 .backup gives a consistent copy, and a plain copy when it cannot. */
async function collectConfigDb(c: Collector, logical: string, dest: string): Promise<boolean> {
  const src = `${c.srcRoot}${logical}`;
  const stat = statOf(src);
  if (stat === undefined) {
    c.missing('skip', 'PVE cluster database', logical);
    return true;
  }
  if (!c.hasProgram('sqlite3')) {
    c.log.warning('sqlite3 not found: config.db copied while in use');
    return c.file(logical, dest, 'PVE cluster database', 'skip');
  }
  if (!c.makeParents(dest)) return false;
  const out = c.stagingPath(dest);
  const result = await c.commands.run(['sqlite3', '-readonly', src, `.backup '${out.replace(/'/g, "''")}'`].map((a) => Buffer.from(a, 'latin1').toString('utf8')));
  if (result.status !== 0) {
    // A damaged or non-SQLite file is still worth more to its owner than none (collect.md V2).
    rmSync(fsPath(out), { force: true });
    c.log.warning(`config.db could not be copied consistently (${escPath(firstLine(result.stderr))}); copied as-is`);
    return c.file(logical, dest, 'PVE cluster database', 'skip');
  }
  chmodSync(fsPath(out), stat.mode & 0o7777);
  utimesSync(fsPath(out), stat.atime, stat.mtime);
  if (c.asRoot) chownSync(fsPath(out), stat.uid, stat.gid);
  c.ok += 1;
  return true;
}

/** V5, V6: guest configs of every node, in glob order (full paths, byte order). */
function collectGuestConfigs(c: Collector, pve: string): boolean {
  const nodesDir = `${c.srcRoot}${pve}/nodes`;
  if (statOf(nodesDir)?.isDirectory() !== true) {
    c.log.debug(`Not found: guest configurations - ${pve}/nodes`);
    return true;
  }
  const nodes = listDir(nodesDir).filter((n) => !n.startsWith('.'));
  for (const kind of ['qemu-server', 'lxc']) {
    const files: string[] = [];
    for (const node of nodes) {
      for (const name of listDir(`${nodesDir}/${node}/${kind}`)) {
        if (!name.startsWith('.') && name.endsWith('.conf')) files.push(`${pve}/nodes/${node}/${kind}/${name}`);
      }
    }
    files.sort(compareBytes);
    for (const rel of files) if (!c.file(rel, `.${rel}`, 'guest configuration', 'skip')) return false;
  }
  return true;
}

/** collect_pve_files; CEPH is detect_has_ceph's answer, asked once before the commands start. */
export async function collectPveFiles(c: Collector, ceph: boolean): Promise<boolean> {
  const pve = trim(toBytes(c.config.PVE_CONFIG_PATH));
  const clusterDir = trim(toBytes(c.config.PVE_CLUSTER_PATH));
  const coro = trim(toBytes(c.config.COROSYNC_CONFIG_PATH));
  let ok = true;
  if (c.switchOn('BACKUP_CLUSTER_CONFIG', 'PVE cluster configuration backup disabled')) {
    ok = c.tree(pve, `.${pve}`, 'PVE configuration', 'skip') && ok;
    ok = (await collectConfigDb(c, `${clusterDir}/config.db`, `.${clusterDir}/config.db`)) && ok;
  }
  if (c.switchOn('BACKUP_COROSYNC_CONFIG', 'Corosync configuration backup disabled')) {
    if (await isCluster(c)) {
      ok = c.file(`${coro}/corosync.conf`, './etc/corosync/corosync.conf', 'Corosync configuration', 'INFO',
        'Corosync configuration file not found despite cluster detection - skipping') && ok;
      ok = c.file(`${coro}/authkey`, './etc/corosync/authkey', 'Corosync authkey', 'INFO',
        'Corosync authkey not found despite cluster detection - skipping') && ok;
    } else {
      c.log.info('PVE cluster not configured (single node) - skipping Corosync configuration');
    }
  }
  if (c.switchOn('BACKUP_PVE_FIREWALL', 'PVE firewall configuration backup disabled')) {
    const firewall = `${c.srcRoot}${pve}/firewall`;
    const stat = statOf(firewall);
    if (stat !== undefined && (!stat.isDirectory() || listDir(firewall).length > 0)) {
      ok = c.tree(`${pve}/firewall`, `.${pve}/firewall`, 'PVE firewall configuration', 'skip') && ok;
    } else {
      c.log.info('PVE firewall configuration not found (no rules configured) - skipping');
    }
  }
  if (c.switchOn('BACKUP_VM_CONFIGS', 'VM and container configuration backup disabled')) ok = collectGuestConfigs(c, pve) && ok;
  if (c.switchOn('BACKUP_VZDUMP_CONFIG', 'vzdump configuration backup disabled')) {
    ok = c.file(toBytes(c.config.VZDUMP_CONFIG_PATH), './etc/vzdump.conf', 'vzdump configuration', 'skip') && ok;
  }
  if (c.switchOn('BACKUP_PVE_JOBS', 'PVE backup jobs backup disabled')) {
    ok = c.file('/etc/cron.d/vzdump', './etc/cron.d/vzdump', 'vzdump cron schedule', 'skip') && ok;
  }
  if (c.switchOn('BACKUP_PVE_SCHEDULES', 'PVE schedules backup disabled')) {
    const names = listDir(`${c.srcRoot}/etc/cron.d`).filter((n) => !n.startsWith('.')).sort(compareBytes);
    for (const name of names) {
      if (!/pve|proxmox|vzdump/.test(name)) continue;
      ok = c.file(`/etc/cron.d/${name}`, `./etc/cron.d/${name}`, 'PVE cron schedule', 'skip') && ok;
    }
  }
  if (c.switchOn('BACKUP_CEPH_CONFIG', 'Ceph configuration backup disabled')) {
    if (ceph) {
      ok = c.tree(trim(toBytes(c.config.CEPH_CONFIG_PATH)), './etc/ceph', 'Ceph configuration', 'skip') && ok;
    } else {
      c.log.info('Ceph not configured in PVE system - skipping Ceph configuration collection');
    }
  }
  return ok;
}

/** The plain commands of the PVE section, in table order (the pvesm fallback and the timers filter aside). */
export function pveCommandSteps(c: Collector, ceph: boolean): (CommandStep | 'pvesm' | 'timers' | { skip: string })[] {
  const d = `${C_DIR}/pve`;
  const steps: (CommandStep | 'pvesm' | 'timers' | { skip: string })[] = [
    { what: 'PVE version', dest: `${d}/pve_version.txt`, severity: 'WARNING', argv: ['pveversion'] },
    'pvesm',
    { what: 'PVE users', dest: `${d}/user_list.json`, severity: 'WARNING', argv: ['pveum', 'user', 'list', '--output-format=json'] },
    { what: 'PVE groups', dest: `${d}/group_list.json`, severity: 'WARNING', argv: ['pveum', 'group', 'list', '--output-format=json'] },
    { what: 'PVE roles', dest: `${d}/role_list.json`, severity: 'WARNING', argv: ['pveum', 'role', 'list', '--output-format=json'] },
    { what: 'PVE nodes', dest: `${d}/nodes_status.json`, severity: 'WARNING', argv: ['pvesh', 'get', '/nodes', '--output-format=json'] },
  ];
  if (c.config.BACKUP_PVE_JOBS) {
    steps.push({ what: 'PVE backup jobs', dest: `${d}/jobs/backup_jobs.json`, severity: 'WARNING', argv: ['pvesh', 'get', '/cluster/backup', '--output-format=json'] },
      { what: 'PVE backup history', dest: `${d}/jobs/backup_history.json`, severity: 'WARNING',
        argv: ['pvesh', 'get', '/nodes/localhost/tasks', '--output-format=json', '--typefilter=vzdump'] });
  }
  if (c.config.BACKUP_PVE_SCHEDULES) {
    steps.push({ what: 'root crontab', dest: `${d}/schedules/root_crontab.txt`, severity: 'debug', argv: ['crontab', '-l'] }, 'timers');
  }
  if (c.config.BACKUP_PVE_REPLICATION) {
    steps.push({ what: 'PVE replication jobs', dest: `${d}/replication/replication_jobs.json`, severity: 'WARNING', argv: ['pvesh', 'get', '/cluster/replication', '--output-format=json'] },
      { what: 'PVE replication status', dest: `${d}/replication/replication_status.json`, severity: 'WARNING',
        argv: ['pvesh', 'get', '/nodes/localhost/replication', '--output-format=json'] });
  } else {
    steps.push({ skip: 'PVE replication backup disabled' });
  }
  if (ceph) {
    const cc = `${C_DIR}/ceph`;
    const cephSteps: [string, string, string[]][] = [
      ['Ceph status', 'ceph_status.txt', ['ceph', '-s']], ['Ceph OSD usage', 'ceph_osd_df.txt', ['ceph', 'osd', 'df']],
      ['Ceph OSD tree', 'ceph_osd_tree.txt', ['ceph', 'osd', 'tree']], ['Ceph monitors', 'ceph_mon_stat.txt', ['ceph', 'mon', 'stat']],
      ['Ceph placement groups', 'ceph_pg_stat.txt', ['ceph', 'pg', 'stat']], ['Ceph health', 'ceph_health.txt', ['ceph', 'health', 'detail']],
    ];
    for (const [what, file, argv] of cephSteps) steps.push({ what, dest: `${cc}/${file}`, severity: 'WARNING', argv });
  }
  return steps;
}

export const PVESM_JSON = ['pvesm', 'status', '--noborder', '--output-format=json'];
export const TIMERS = ['systemctl', 'list-timers', '--all', '--no-pager'];

/** The pvesm table as the JSON array legacy's perl converter writes. */
export function pvesmTableToJson(table: string): string {
  const rows: string[] = [];
  for (const line of table.split('\n')) {
    if (/^[ \t\r\f\v]*$/.test(line)) continue;
    if (/^Name\b/.test(line) && line.includes('Type') && line.includes('Status')) continue;
    const cols = line.replace(/^[ \t\r\f\v]+/, '').split(/[ \t\r\f\v]+/).filter((col) => col !== '');
    if (cols.length < 7) continue;
    const [storage, type, status, total, used, available, percent] = cols.slice(0, 7).map((v) => v.replace(/(["\\])/g, '\\$1'));
    rows.push(`  {\n    "storage": "${storage}",\n    "type": "${type}",\n    "status": "${status}",\n    "total": "${total}",\n`
      + `    "used": "${used}",\n    "available": "${available}",\n    "percent": "${percent}"\n  }`);
  }
  return rows.length > 0 ? `[\n${rows.join(',\n')}\n]\n` : '[]\n';
}

/** V21 with its fallback: the pvesm table converted to JSON when --output-format=json is refused. */
async function collectPvesmStatus(c: Collector, dest: string): Promise<void> {
  if (!c.hasProgram('pvesm')) {
    await c.command('PVE storage status', dest, 'WARNING', ['pvesm', 'status']);
    return;
  }
  const json = await c.commands.run(PVESM_JSON);
  if (json.status === 0) {
    if (c.generated(dest, json.stdout)) c.ok += 1;
    return;
  }
  c.log.info('Converting legacy pvesm status output to JSON format');
  const table = await c.commands.run(['pvesm', 'status']);
  if (table.status !== 0) {
    c.failed += 1;
    c.log.warning(`Failed to collect PVE storage status - command: pvesm status - ${escPath(firstLine(table.stderr) || `exit ${table.status}`)}`);
    return;
  }
  if (c.generated(dest, pvesmTableToJson(table.stdout.toString('latin1')))) c.ok += 1;
}

/** V29: timers filtered here (lines naming pve, proxmox or vzdump), never through a shell pipe. */
async function collectPveTimers(c: Collector, dest: string): Promise<void> {
  if (!c.hasProgram('systemctl')) {
    c.log.debug('Command not available: systemctl (skipping systemd timers)');
    return;
  }
  const result = await c.commands.run(TIMERS);
  if (result.status !== 0) {
    c.log.debug(`Failed to collect systemd timers - command: ${esc(TIMERS.join(' '))} - exit ${result.status}`);
    return;
  }
  const lines = result.stdout.toString('latin1').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const kept = lines.filter((l) => /pve|proxmox|vzdump/.test(l)).map((l) => `${l}\n`).join('');
  if (c.generated(dest, kept)) c.ok += 1;
}

export async function runSteps(c: Collector, steps: ReturnType<typeof pveCommandSteps>): Promise<void> {
  const d = `${C_DIR}/pve`;
  for (const step of steps) {
    if (step === 'pvesm') await collectPvesmStatus(c, `${d}/storage_status.json`);
    else if (step === 'timers') await collectPveTimers(c, `${d}/schedules/systemd_timers.txt`);
    else if ('skip' in step) c.log.skip(step.skip);
    else await c.command(step.what, step.dest, step.severity, step.argv);
  }
}

/** The argv lists these steps will run, for the pool to start ahead. */
export function stepArgvs(c: Collector, steps: ReturnType<typeof pveCommandSteps>): (readonly string[])[] {
  const out: (readonly string[])[] = [];
  for (const step of steps) {
    if (step === 'pvesm') { if (c.hasProgram('pvesm')) out.push(PVESM_JSON); }
    else if (step === 'timers') { if (c.hasProgram('systemctl')) out.push(TIMERS); }
    else if (!('skip' in step) && c.hasProgram(step.argv[0] ?? '')) out.push(step.argv);
  }
  return out;
}


