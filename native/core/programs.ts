// Programs on PATH, as the legacy core_has_program sees them: an executable regular file.
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

export function hasProgram(name: string, path: string): boolean {
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      continue;
    }
  }
  return false;
}
