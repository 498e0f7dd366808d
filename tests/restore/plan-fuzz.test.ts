// Property-based fuzz of the restore reader and planner (restore.md §4.3, §8; issue 20): generated tar streams
// mixing traversal, absolute paths, symlink and hard-link escapes, pax and GNU long-name overrides (a pax `path`
// that contradicts the header's name), device nodes, unknown types, huge sizes, bad checksums, oversized pax
// headers and truncated streams, planned against a real target tree holding links that point out of it.
// Invariants: the reader stops only with a named CorruptArchive; every planned path stays inside ROOT (lexically,
// not below an earlier symlink entry, and every existing parent resolving inside ROOT); every entry is accounted
// for exactly once and every refusal carries a §8 reason; restore.pl scans and plans every archive the same way.
// Fixed seed and 60 runs in `make test`; PBK_FUZZ_LONG=1 (the nightly job) runs 2000; PBK_FUZZ_SEED=N another seed.
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATEGORY_ORDER } from '../../native/restore/categories.js';
import { realDisk } from '../../native/restore/disk.js';
import { insideRoot, targetOf, TAMPER_WARNING, type PlanSettings } from '../../native/restore/plan.js';
import { legacyScanPlan, nativeScanPlan } from './plan-legacy.js';

const SEED = Number(process.env.PBK_FUZZ_SEED ?? 20);
const RUNS = process.env.PBK_FUZZ_LONG === '1' ? 2000 : 60;

// ---------------------------------------------------------------------------------------------------
// A tar writer that does what it is told, including what no tar program would write

function octal(value: number, width: number): Buffer {
  const field = Buffer.alloc(width);
  if (value >= 0 && value < 8 ** (width - 1)) field.write(value.toString(8).padStart(width - 1, '0'), 'latin1');
  else {   // base-256 (GNU), big-endian, the high bit of the first byte set
    let v = BigInt.asUintN(8 * (width - 1), BigInt(Math.trunc(value)));
    for (let i = width - 1; i >= 1; i -= 1) {
      field[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    field[0] = 0x80;
  }
  return field;
}

interface Header { name: string; type: string; link: string; mode: number; uid: number; gid: number; size: number; mtime: number; prefix: string }

function header(h: Header, badSum: boolean): Buffer {
  const block = Buffer.alloc(512);
  block.write(h.name.slice(0, 100), 0, 'latin1');
  octal(h.mode, 8).copy(block, 100);
  octal(h.uid, 8).copy(block, 108);
  octal(h.gid, 8).copy(block, 116);
  octal(h.size, 12).copy(block, 124);
  octal(h.mtime, 12).copy(block, 136);
  block.write(h.type, 156, 'latin1');
  block.write(h.link.slice(0, 100), 157, 'latin1');
  block.write('ustar\x0000', 257, 'latin1');
  block.write(h.prefix.slice(0, 155), 345, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${(badSum ? sum + 1 : sum).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body, 'latin1') + 1;
  while (String(len).length + Buffer.byteLength(body, 'latin1') !== len) len = String(len).length + Buffer.byteLength(body, 'latin1');
  return `${len}${body}`;
}

const BASE = { link: '', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000, prefix: '' };

interface Spec {
  name: string;
  type: string;
  link: string;
  mode: number;
  mtime: number;
  uid: number;
  data: string;
  encoding: 'ustar' | 'gnu' | 'pax' | 'pax-lie' | 'gnu-lie';
  /** Named below the last earlier symlink entry (`a -> /`, then `a/etc/passwd`). */
  below: boolean;
  damage: 'none' | 'huge-size' | 'bad-sum' | 'big-pax' | 'pax-size';
}

function entryBytes(e: Spec): Buffer {
  const out: Buffer[] = [];
  const hasData = /^[07]$/.test(e.type) || !/^[123456]$/.test(e.type);
  const data = Buffer.from(hasData ? e.data : '', 'latin1');
  let name = e.name;
  let link = e.link;
  let prefix = '';
  if (e.encoding === 'gnu' || e.encoding === 'gnu-lie') {
    const longName = e.encoding === 'gnu-lie' || name.length > 100;
    if (longName) {
      const body = Buffer.from(`${e.name}\0`, 'latin1');
      out.push(header({ ...BASE, name: '././@LongLink', type: 'L', size: body.length }, false), pad(body));
      if (e.encoding === 'gnu-lie') name = 'innocent';
    }
    if (link.length > 100) {
      const body = Buffer.from(`${e.link}\0`, 'latin1');
      out.push(header({ ...BASE, name: '././@LongLink', type: 'K', size: body.length }, false), pad(body));
    }
  } else if (e.encoding === 'pax' || e.encoding === 'pax-lie' || e.damage === 'big-pax' || e.damage === 'pax-size') {
    let records = paxRecord('path', e.name) + (e.link === '' ? '' : paxRecord('linkpath', e.link));
    if (e.damage === 'pax-size') records += paxRecord('size', '99999999999');
    const body = Buffer.from(records, 'latin1');
    out.push(header({ ...BASE, name: 'PaxHeaders/x', type: 'x', size: e.damage === 'big-pax' ? 2 * 1024 * 1024 : body.length }, false), pad(body));
    if (e.encoding === 'pax-lie') {
      name = 'innocent';
      link = 'innocent';
    }
  } else if (name.length > 100) {   // ustar: split at a slash into prefix/name when it fits
    const cut = name.lastIndexOf('/', 155);
    if (cut > 0 && name.length - cut - 1 <= 100) {
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
  }
  const size = e.damage === 'huge-size' ? 2 ** 45 : data.length;
  out.push(header({ ...BASE, name, type: e.type, link, mode: e.mode, uid: e.uid, gid: e.uid, size, mtime: e.mtime, prefix }, e.damage === 'bad-sum'));
  if (data.length > 0) out.push(pad(data));
  return Buffer.concat(out);
}

// ---------------------------------------------------------------------------------------------------
// Generators

// A small world of names, so that links and the entries below them meet; hostile components now and then.
const COMMON = ['a', 'b', 'etc', 'out', 'in', 'dir', 'file', 'ssh', 'hosts', 'pve', 'nodes', 'n1', 'qemu-server', '100.conf', 'network', 'var',
  'lib', 'pve-cluster', 'config.db', 'chunked_files', 'big.chunked', 'big', '00.chunk', '01.chunk', 'script-repository', 'root', '.ssh'];
const HOSTILE = ['..', '.', '', 'x'.repeat(255), 'y'.repeat(256), '\xff\xfe', 'c\n', 'tmp', 'proxmox-backup-1'];
const LINKS = ['', '/', '/etc', '..', '../..', '../../etc/shadow', 'a', 'a/b', 'etc/hosts', 'file', '/tmp/proxmox-backup-1/etc/hosts',
  '/tmp/proxmox-backup-1/../../etc/shadow', 'z'.repeat(150), 'out/x', 'dir', '../outside'];

const component = fc.oneof({ arbitrary: fc.constantFrom(...COMMON), weight: 12 }, { arbitrary: fc.constantFrom(...HOSTILE), weight: 1 });
const nameArb = fc.tuple(fc.constantFrom('', '', '', '', '', '', '/', './', '//'), fc.array(component, { minLength: 1, maxLength: 4 }),
  fc.constantFrom('', '', '', '', '/')).map(([lead, parts, trail]) => `${lead}${parts.join('/')}${trail}`);

const entryArb: fc.Arbitrary<Spec> = fc.record({
  name: nameArb,
  type: fc.oneof({ arbitrary: fc.constantFrom('0', '0', '0', '5', '5', '2', '2', '1', '7'), weight: 6 },
    { arbitrary: fc.constantFrom('3', '4', '6', 'S', 'V', 'D', 'g'), weight: 1 }),
  below: fc.nat(3).map((n) => n === 0),
  link: fc.oneof(fc.constantFrom(...LINKS), nameArb),
  mode: fc.constantFrom(0o644, 0o755, 0o600, 0o4755, 0o2755, 0o7777),
  mtime: fc.oneof(fc.constant(1_700_000_000), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
  uid: fc.constantFrom(0, 1000, 2 ** 31),
  data: fc.constantFrom('', 'x', 'content\n', 'z'.repeat(700)),
  encoding: fc.constantFrom('ustar', 'ustar', 'gnu', 'pax', 'pax-lie', 'gnu-lie'),
  damage: fc.oneof({ arbitrary: fc.constant('none' as const), weight: 60 },
    { arbitrary: fc.constantFrom('huge-size' as const, 'bad-sum' as const, 'big-pax' as const, 'pax-size' as const), weight: 1 }),
});

const archiveArb = fc.record({
  entries: fc.array(entryArb, { minLength: 0, maxLength: 12 }),
  end: fc.constantFrom('zeros', 'zeros', 'zeros', 'zeros', 'zeros', 'zeros', 'none', 'truncate'),
  cut: fc.nat(),
  dryRun: fc.boolean(),
  pveMode: fc.constantFrom('plain', 'plain', 'blocked', 'pmxcfs'),
}).map(({ entries: specs, end, cut, dryRun, pveMode }) => {
  let link: string | undefined;
  const entries = specs.map((e) => {
    const named = e.below && link !== undefined ? { ...e, name: `${link}/${e.name.replace(/^\/+/, '')}` } : e;
    if (e.type === '2') link = e.name.replace(/\/+$/, '');
    return named;
  });
  let bytes = Buffer.concat([...entries.map(entryBytes), end === 'none' ? Buffer.alloc(0) : Buffer.alloc(1024)]);
  if (end === 'truncate' && bytes.length > 0) bytes = bytes.subarray(0, cut % bytes.length);
  return { bytes, entries, dryRun, pveMode: pveMode as PlanSettings['pveMode'] };
});

// ---------------------------------------------------------------------------------------------------

const CORRUPT_REASONS = /^CORRUPT\t(unexpected end of archive|bad header checksum|bad number in a header|bad pax header|pax header over 1 MiB|long name over 1 MiB|more than 1000000 entries)\n$/;
const REFUSALS = /^Refused [^\n]*: (absolute path|parent directory reference|path goes through a symlink from the archive|escapes the target through a symlink|special file|unsupported entry type [^\n]|hard link outside the archive|name too long|link into an old temporary directory)$/s;
const OTHER_WARNINGS = /^(Skipped [^\n]*: (not a directory on disk|a directory exists there|special file on disk|hard link to an entry that is not restored|chunk \d+ missing|[^\n]*\/etc\/pve is not a running pmxcfs; its content comes from config\.db)|Duplicate entry [^\n]*; the last one is used|Failed to restore [^\n]*: Not a directory)$/s;
const TAMPERING = /^(absolute path|parent directory reference|path goes through|escapes the target)/;

/** A target tree with an outside link, an inside link, a dangling link, a file and a directory. */
function fixture(): { root: string; outside: string } {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'pbk-fuzz-')));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(outside);
  mkdirSync(join(root, 'dir'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'file'), 'f');
  symlinkSync(outside, join(root, 'out'));
  symlinkSync('dir', join(root, 'in'));
  symlinkSync('../../outside', join(root, 'etc', 'ssh'));
  symlinkSync('/nonexistent-pbk-fuzz', join(root, 'a'));
  return { root, outside };
}

/**
 * A table with its numbers past 2^53 shown as BIG: Perl prints a double with 15 digits, JS with 17 (and Perl
 * keeps integers exact up to 2^64), so only the rendering of such absurd header values differs.
 */
function bigNumbers(table: string): string {
  return table.split('\n').map((line) => line.split('\t').map((cell, i) => (i >= 2 && i <= 6 && Number(cell) > 2 ** 53 ? 'BIG' : cell)).join('\t'))
    .join('\n');
}

/** Every existing ancestor of TARGET (and TARGET's parent chain) resolves inside ROOT. */
function parentsInside(root: string, target: string): boolean {
  let dir = target.slice(0, target.lastIndexOf('/'));
  while (dir.length >= root.length) {
    const real = realDisk.realpath(dir);
    if (real !== undefined && !insideRoot(root, real)) return false;
    dir = dir.slice(0, dir.lastIndexOf('/'));
  }
  return true;
}

const STATS = { runs: 0, corrupt: 0, actions: 0, refused: 0, escapes: 0, through: 0 };

describe(`fuzz: the reader and the planner on hostile archives (fast-check, seed ${SEED}, ${RUNS} runs)`, () => {
  it('nothing planned outside ROOT, every refusal named, the same records as restore.pl', async () => {
    const { root } = fixture();
    const selected = CATEGORY_ORDER.filter((c) => c !== '(reports)');
    await fc.assert(fc.asyncProperty(archiveArb, async ({ bytes, dryRun, pveMode }) => {
      const settings: PlanSettings = { root, selected, pveMode, dryRun, asRoot: false };
      const native = await nativeScanPlan(bytes, settings);
      const legacy = legacyScanPlan(bytes, settings);
      expect({ scan: native.scan, table: bigNumbers(native.table), plan: native.plan, planFile: native.planFile, safety: native.safety })
        .toEqual({ ...legacy, table: bigNumbers(legacy.table) });
      STATS.runs += 1;
      if (native.scan.startsWith('CORRUPT')) {
        STATS.corrupt += 1;
        expect(native.scan).toMatch(CORRUPT_REASONS);
        return;
      }
      const plan = native.result;
      if (plan === undefined) throw new Error('no plan');
      const entries = native.entries;
      // every planned path inside ROOT
      const symlinkEntries = new Map<string, number>();
      for (const e of entries) if (e.type === '2' && !symlinkEntries.has(e.norm)) symlinkEntries.set(e.norm, e.index);
      for (const [index, action] of plan.actions) {
        const parts = action.norm.split('/');
        expect(action.norm.startsWith('/') || parts.includes('..') || action.norm === '').toBe(false);
        const target = targetOf(root, action.norm);
        expect(insideRoot(root, target)).toBe(true);
        expect(parentsInside(root, target), `${target} goes out of ${root}`).toBe(true);
        for (let i = 1; i < parts.length; i += 1) {
          const below = symlinkEntries.get(parts.slice(0, i).join('/'));
          expect(below === undefined || below > index, `${action.norm} below a symlink entry`).toBe(true);
        }
        const s = action.source;
        if (s.kind === 'hardlink' || s.kind === 'dedup') {
          expect(entries[s.index]?.type).toBe('0');
          expect(entries[s.index]?.reason).toBe('');
        }
      }
      // every refusal named, every entry accounted for once
      for (const e of entries) if (e.reason !== '') expect(`Refused x: ${e.reason}`).toMatch(REFUSALS);
      const warnings = plan.logs.filter((l) => l.level === 'WARNING').map((l) => l.message);
      for (const w of warnings) if (w !== TAMPER_WARNING) expect(w).toMatch(w.startsWith('Refused') ? REFUSALS : OTHER_WARNINGS);
      expect(warnings.filter((w) => w.startsWith('Refused')).length).toBe(plan.refused);
      const tampered = entries.some((e) => TAMPERING.test(e.reason)) || warnings.some((w) => w.includes('escapes the target through a symlink'));
      expect(warnings.includes(TAMPER_WARNING)).toBe(tampered);
      STATS.actions += plan.actions.size;
      STATS.refused += plan.refused;
      STATS.escapes += warnings.filter((w) => w.includes('escapes')).length;
      STATS.through += entries.filter((e) => e.reason.startsWith('path goes')).length;
      const named = entries.filter((e) => e.norm !== '');
      const structural = named.filter((e) => e.reason === '' && e.category === '-').length;
      const planned = [...plan.actions.keys()].filter((i) => i < entries.length).length;
      expect(plan.refused + structural + plan.reports + plan.notSelected + plan.other + plan.failed + planned).toBe(named.length);
    }), { seed: SEED, numRuns: RUNS });
    if (process.env.PBK_FUZZ_STATS === '1') process.stdout.write(`${JSON.stringify(STATS)}\n`);
  }, 1_800_000);
});
