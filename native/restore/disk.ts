// The real file system as the restore planner's DiskView (native/restore/plan.ts): lstat, realpath and `-d`
// on byte-string paths, as restore.pl's plan asks them (Perl's lstat/realpath/-d).
import { lstatSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { fsPath } from '../core/bytes-path.js';
import type { DiskStat, DiskView } from './plan.js';

function kindOf(st: BigIntStats): DiskStat['kind'] {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  return 'special';
}

export const realDisk: DiskView = {
  lstat(path) {
    try {
      const st = lstatSync(fsPath(path), { bigint: true });
      return { kind: kindOf(st), mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid),
        mtime: Number(st.mtimeNs / 1_000_000_000n) - (st.mtimeNs < 0n && st.mtimeNs % 1_000_000_000n !== 0n ? 1 : 0), size: Number(st.size) };
    } catch {
      return undefined;
    }
  },
  realpath(path) {
    try {
      return realpathSync(fsPath(path), { encoding: 'buffer' }).toString('latin1');
    } catch {
      return undefined;
    }
  },
  isDir(path) {
    try {
      return statSync(fsPath(path)).isDirectory();
    } catch {
      return false;
    }
  },
};
