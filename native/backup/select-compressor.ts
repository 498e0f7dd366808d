// backup_select_compressor (archive.md §3.3): the effective compression after the gzip fallback.
import type { ExitStatus } from '../core/exit-code.js';
import { hasProgram } from '../core/programs.js';
import type { NativeStageContext } from '../core/stage.js';

/** The program a compression type needs ('' for none); lzma is done by xz when there is one. */
export function neededProgram(type: string, path: string): string {
  switch (type) {
    case 'none': return '';
    case 'lzma': return hasProgram('xz', path) ? 'xz' : 'lzma';
    default: return type;
  }
}

export async function backupSelectCompressor({ log, env, config, state }: NativeStageContext): Promise<ExitStatus> {
  const path = env.PATH ?? '';
  let type = config.COMPRESSION_TYPE;
  const program = neededProgram(type, path);
  if (program !== '' && !hasProgram(program, path)) {
    log.warning(`Compression tool '${program}' not found, falling back to gzip`);
    type = 'gzip';
    if (!hasProgram('gzip', path)) {
      log.error('No compression tools available (even gzip is missing)');
      return Promise.resolve(2);
    }
  }
  state.set('COMPRESSION_EFFECTIVE', type);
  return Promise.resolve(0);
}
