// The repository stands alone: no file refers to a place outside it, every relative link of the Markdown
// documents resolves, every `<file>.md §N` and "decision N" names a section that exists in docs/spec, and the
// shims README has a row for every shim (docs/ARCHITECTURE.md "Tests").
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGES } from '../../native/switch/stages.js';
import { REPO, repoFiles } from './repo-files.js';

const SPEC_DIR = join(REPO, 'docs', 'spec');
// Built from parts so that this file does not match itself.
const OUTSIDE = [['..', 'shared'].join('/'), ['', 'work', ''].join('/')];

/** Text files only: a NUL byte in the first 8 KiB marks a binary file (archives, fixture binaries). */
function readText(path: string): string | undefined {
  const bytes = readFileSync(join(REPO, path));
  if (bytes.subarray(0, 8192).includes(0)) return undefined;
  return bytes.toString('utf8');
}

/** file:line for every line of `text` holding `needle`. */
function linesWith(path: string, text: string, needle: string): string[] {
  return text.split('\n').flatMap((line, i) => (line.includes(needle) ? [`${path}:${i + 1}: ${line.trim()}`] : []));
}

describe('no file refers outside the repository', () => {
  const files = repoFiles();

  it('covers the whole repository (sanity: the walk found the files it must check)', () => {
    expect(files).toContain('README.md');
    expect(files).toContain('docs/spec/run.md');
    expect(files).toContain('tests/docs/references.test.ts');
  });

  it.each(OUTSIDE)('no file mentions %s', (needle) => {
    const hits = files.flatMap((path) => {
      const text = readText(path);
      return text === undefined ? [] : linesWith(path, text, needle);
    });
    expect(hits).toEqual([]);
  });

  it('the check finds a reference when there is one (it can fail)', () => {
    const sample = `see ${OUTSIDE[0] ?? ''}/spec/run.md`;
    expect(linesWith('x.md', sample, OUTSIDE[0] ?? '')).toEqual([`x.md:1: ${sample}`]);
  });
});

const MARKDOWN_LINK = /\]\(([^)\s]+)\)/g;

describe('relative links of the Markdown documents resolve', () => {
  const documents = repoFiles().filter((p) => p.endsWith('.md') && !p.startsWith('golden/') && !p.startsWith('parity/hosts/'));

  it.each(documents)('%s', (path) => {
    // Code is not a link: fenced blocks and inline code spans are left out.
    const text = readFileSync(join(REPO, path), 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
    const broken: string[] = [];
    for (const match of text.matchAll(MARKDOWN_LINK)) {
      const target = match[1] ?? '';
      if (/^[a-z]+:/.test(target) || target.startsWith('#')) continue;   // URLs and in-page anchors
      const file = target.split('#')[0] ?? '';
      const resolved = normalize(join(REPO, dirname(path), file));
      if (!resolved.startsWith(REPO) || !existsSync(resolved)) broken.push(target);
    }
    expect(broken).toEqual([]);
  });
});

/** The section numbers of a spec file: `## 8. Title` → 8, `### 5.4 Title` → 5.4. */
function sectionsOf(file: string): Set<string> {
  const sections = new Set<string>();
  for (const line of readFileSync(join(SPEC_DIR, file), 'utf8').split('\n')) {
    const match = /^#{2,5} (\d+(?:\.\d+)*)[. ]/.exec(line);
    if (match?.[1] !== undefined) sections.add(match[1]);
  }
  return sections;
}

describe('spec references name sections that exist in docs/spec', () => {
  const specFiles = readdirSync(SPEC_DIR).filter((f) => f.endsWith('.md'));
  const sections = new Map(specFiles.map((f) => [f, sectionsOf(f)]));
  const decisions = readFileSync(join(SPEC_DIR, 'decisions.md'), 'utf8').split('\n').filter((l) => /^\d+\. /.test(l)).length;
  const sources = repoFiles().filter((p) => !p.startsWith('golden/') && !p.startsWith('parity/hosts/'));

  it('every spec file has numbered sections, and decisions.md has its numbered items', () => {
    for (const file of specFiles.filter((f) => f !== 'README.md' && f !== 'decisions.md')) {
      expect(sections.get(file)?.size ?? 0, file).toBeGreaterThan(3);
    }
    expect(decisions).toBeGreaterThanOrEqual(24);
  });

  it('every `<file>.md §N` names a spec file and one of its top-level sections', () => {
    const broken: string[] = [];
    for (const path of sources) {
      const text = readText(path);
      if (text === undefined) continue;
      for (const match of text.matchAll(/\b([a-z]+)\.md §(\d+)/g)) {
        const file = `${match[1] ?? ''}.md`;
        if (!sections.get(file)?.has(match[2] ?? '')) broken.push(`${path}: ${match[0]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every "decision N" is one of decisions.md', () => {
    const broken: string[] = [];
    for (const path of sources) {
      const text = readText(path);
      if (text === undefined) continue;
      for (const match of text.matchAll(/\bdecisions? (\d+)/g)) {
        if (Number(match[1]) < 1 || Number(match[1]) > decisions) broken.push(`${path}: ${match[0]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('docs/ARCHITECTURE.md names only paths that exist', () => {
  const text = readFileSync(join(REPO, 'docs', 'ARCHITECTURE.md'), 'utf8');
  // The walk-through of a stage still to write names files that do not exist yet: it is left out.
  const howTo = text.indexOf('## How to add a native stage');
  const described = text.slice(0, howTo) + text.slice(text.indexOf('\n## ', howTo + 1));
  const paths = [...new Set([...described.matchAll(/`((?:native|legacy|tests|shims|parity|bin|docs|golden)\/[\w./-]*)/g)]
    .map((m) => (m[1] ?? '').replace(/[.:]$/, ''))
    .filter((path) => !path.split('/').some((part) => /^[A-Z_]+$/.test(part))))];   // placeholders: shims/NAME

  it('finds the paths it checks', () => {
    expect(paths).toContain('native/switch/stages.ts');
  });

  it.each(paths)('%s', (path) => {
    expect(existsSync(join(REPO, path)), path).toBe(true);
  });
});

describe('shims/README.md covers every shim', () => {
  const shims = readdirSync(join(REPO, 'shims')).filter((n) => n !== 'README.md' && n !== '_stage').sort();
  const readme = readFileSync(join(REPO, 'shims', 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1] ?? '').sort();

  it('one row per shim, and one shim per row', () => {
    expect(rows).toEqual(shims);
  });

  it('every shim is a stage of the stage list, and every stage has a shim', () => {
    expect(Object.keys(STAGES).sort()).toEqual(shims);
  });
});
