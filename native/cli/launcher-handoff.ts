// The launcher's hand-off file (bin/switch-mode run_front_end, issue 21): node starts once per run-backup or
// side tool, and the front end writes which side runs it to the file PBK_LAUNCHER_HANDOFF names.
import { writeFileSync } from 'node:fs';

/**
 * `ts`: this process runs the command and its exit code is the launcher's; `bash`: this process exits at once
 * and the launcher execs the legacy program itself, so node never stays resident under a bash run. No file (this
 * process died before deciding): the launcher runs the legacy program. False when no launcher asked.
 */
export function handOff(env: Readonly<Record<string, string | undefined>>, side: 'ts' | 'bash'): boolean {
  const file = env.PBK_LAUNCHER_HANDOFF ?? '';
  if (file === '') return false;
  writeFileSync(file, `${side}\n`);
  delete process.env.PBK_LAUNCHER_HANDOFF;   // the launcher's business only: no stage, tool or child sees it
  return true;
}
