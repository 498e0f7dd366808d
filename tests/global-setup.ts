// Once per vitest run: make the fixture hosts complete and deterministic (parity/hosts/prepare), and give the run a
// temp directory of its own. Every helper makes its sandboxes with mkdtemp(tmpdir()); TMPDIR (inherited by the
// test workers, forked after this) points them at the run's directory, removed whole at the end: the suite leaves
// nothing in /tmp (PBK_TEST_KEEP_TMP=1 keeps it). Mode 1777 as /tmp, so a test that drops privileges can still
// write there.
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export default async function setup(): Promise<() => Promise<void>> {
  await execa(join(import.meta.dirname, '..', 'parity', 'hosts', 'prepare'));
  const previous = process.env.TMPDIR;
  const suiteDir = mkdtempSync(join(tmpdir(), 'pbk-suite-'));
  chmodSync(suiteDir, 0o1777);
  process.env.TMPDIR = suiteDir;
  process.env.PBK_TEST_SUITE_DIR = suiteDir;   // and what its files share: tests/backup/stage-run.ts sharedKeptRun
  return async () => {
    delete process.env.PBK_TEST_SUITE_DIR;
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (process.env.PBK_TEST_KEEP_TMP === '1') {   // to look at what the files left (the shared kept run, say)
      process.stderr.write(`PBK_TEST_KEEP_TMP=1: kept ${suiteDir}\n`);
      return;
    }
    // A test that failed before its afterAll may have left a tmpfs mounted under it: rm stays on this filesystem.
    await execa('rm', ['-rf', '--one-file-system', suiteDir], { reject: false });
  };
}
