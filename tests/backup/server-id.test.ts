// The server id (run.md §8) pinned with literal values on both sides: legacy/lib/detect.sh identity_derive and
// native/core/identity.ts, each reading the same identity inputs from a directory standing for the host's /.
// The parity normalisers replace SERVER_ID by a token, so without these values a drift between the two
// derivations (or a change of the formula) would pass every other test. The literals were computed from the
// spec's formula with an independent implementation (Python's hashlib), not by either side.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveServerId, formatIdentityFile, identityChecksum, readIdentitySources } from '../../native/core/identity.js';
import { REPO } from '../legacy/run.js';

interface IdentityCase {
  readonly name: string;
  readonly short: string;
  /** Files under the directory standing for /, by path. */
  readonly files: Readonly<Record<string, string>>;
  /** The material hashed, as run.md §8 builds it (for the reader; the sides are checked by their result). */
  readonly material: string;
  readonly id: string;
}

const CASES: readonly IdentityCase[] = [
  {
    name: 'every source; MACs unsorted and in mixed case, lo and its zero MAC skipped; the uuid keeps its case',
    short: 'pve1',
    files: {
      'etc/machine-id': '0123456789abcdef0123456789abcdef\n',
      'sys/class/net/eth1/address': 'BC:24:11:00:00:02\n',
      'sys/class/net/eth0/address': 'bc:24:11:00:00:01\n',
      'sys/class/net/lo/address': '00:00:00:00:00:00\n',
      'sys/class/dmi/id/product_uuid': '4C4C4544-0000-1000-8000-000000000001\n',
    },
    material: '0123456789abcdef0123456789abcdef|bc:24:11:00:00:01,bc:24:11:00:00:02|pve1|4C4C4544-0000-1000-8000-000000000001',
    id: '1122923949439872',   // sha256 starts 92261080c7fabb80: above 2^63, so the reduction is unsigned
  },
  {
    name: 'no source at all: empty strings between the bars',
    short: 'pbs',
    files: {},
    material: '||pbs|',
    id: '4171185047456374',
  },
  {
    name: 'an empty /etc/machine-id (an image template) falls through to /var/lib/dbus/machine-id',
    short: 'pve2',
    files: {
      'etc/machine-id': '',
      'var/lib/dbus/machine-id': 'fedcba9876543210fedcba9876543210\n',
      'sys/class/net/ens18/address': '52:54:00:12:34:56\n',
    },
    material: 'fedcba9876543210fedcba9876543210|52:54:00:12:34:56|pve2|',
    id: '4200667973555811',
  },
  {
    name: 'the machine id trimmed of spaces, tabs and CR; an all-zero MAC skipped on any interface',
    short: 'node-3',
    files: {
      'etc/machine-id': ' \tid \r\n',
      'sys/class/net/eth0/address': 'aa:bb:cc:dd:ee:ff\n',
      'sys/class/net/dummy0/address': '00:00:00:00:00:00\n',
    },
    material: 'id|aa:bb:cc:dd:ee:ff|node-3|',
    id: '9047258430940425',
  },
  {
    name: 'a small value is left-padded with zeros to 16 digits',
    short: 'pad89',
    files: {},
    material: '||pad89|',
    id: '0043499417668365',
  },
];

const scratch = mkdtempSync(join(tmpdir(), 'pbk-server-id-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function makeRoot(identity: IdentityCase, index: number): string {
  const root = join(scratch, `root-${index}`);
  mkdirSync(root, { recursive: true });
  for (const [path, text] of Object.entries(identity.files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Runs one function of legacy/lib with the libraries a stage has loaded (as shims/_stage sources them). */
async function legacy(script: string, args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const body = `set -euo pipefail; for lib in exit log config core detect; do source "${join(REPO, 'legacy', 'lib')}/$lib.sh"; done; ${script}`;
  const result = await execa('bash', ['-c', body, 'bash', ...args], { env: { ...env, LC_ALL: 'C' } });
  return result.stdout;
}

describe('server id derivation, pinned (run.md §8)', () => {
  it.each(CASES.map((c, i) => ({ ...c, index: i })))('$name', async (identity) => {
    const root = makeRoot(identity, identity.index);
    const native = deriveServerId(readIdentitySources(identity.short, root));
    const bash = await legacy('identity_derive "$1"', [root], { HOST_SHORT: identity.short });
    expect({ native, bash }).toEqual({ native: identity.id, bash: identity.id });
  });

  it('the material is the one run.md §8 describes (the pure function on the case values)', () => {
    const first = CASES[0];
    expect(first).toBeDefined();
    if (first === undefined) return;
    expect(deriveServerId({
      machineId: '0123456789abcdef0123456789abcdef', macs: ['bc:24:11:00:00:01', 'bc:24:11:00:00:02'],
      shortHostname: 'pve1', productUuid: '4C4C4544-0000-1000-8000-000000000001',
    })).toBe(first.id);
  });
});

describe('identity file checksum, pinned (run.md §8)', () => {
  it.each([
    { id: '0000000000000042', checksum: '2d798f561d6e82e8' },
    { id: '1122923949439872', checksum: '6fa53c98e3b2499f' },
  ])('SERVER_ID=$id → CHECKSUM=$checksum on both sides', async ({ id, checksum }) => {
    expect(identityChecksum(id)).toBe(checksum);
    expect(await legacy('identity_checksum "$1"', [id])).toBe(checksum);
    expect(formatIdentityFile(id)).toBe(`SERVER_ID=${id}\nCHECKSUM=${checksum}\n`);
  });
});
