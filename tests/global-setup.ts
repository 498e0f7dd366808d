// Once per vitest run: make the fixture hosts complete and deterministic (parity/hosts/prepare).
import { join } from 'node:path';
import { execa } from 'execa';

export default async function setup(): Promise<void> {
  await execa(join(import.meta.dirname, '..', 'parity', 'hosts', 'prepare'));
}
