// Writing the integrity manifest (security.md §3.2), as legacy's security_write_manifest: config/ created 0700,
// a leftover temp file removed, the text written to integrity.sha256.tmp created exclusively with mode 0600,
// then renamed. The reason on failure is legacy's ("cannot create <dir>", "cannot write <tmp>", …).
import { chmodSync, closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync, constants } from 'node:fs';

export type WriteResult = { ok: true } | { ok: false; reason: string };

export function writeManifest(baseDir: string, text: string): WriteResult {
  const dir = `${baseDir}/config`;
  const manifest = `${dir}/integrity.sha256`;
  const tmp = `${manifest}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch {
    return { ok: false, reason: `cannot create ${dir}` };
  }
  rmSync(tmp, { force: true });
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  } catch {
    rmSync(tmp, { force: true });
    return { ok: false, reason: `cannot write ${tmp}` };
  }
  try {
    renameSync(tmp, manifest);
  } catch {
    rmSync(tmp, { force: true });
    return { ok: false, reason: `cannot rename ${tmp}` };
  }
  return { ok: true };
}
