// Programs on PATH, as the legacy core_has_program sees them (an executable regular file), and the file-kind
// tests the stages share ([[ -f ]], [[ -d ]], [[ -x ]] of the legacy side; they follow symlinks as those do).
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

export function hasProgram(name: string, path: string): boolean {
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    if (isExecutableFile(join(dir, name))) return true;
  }
  return false;
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
