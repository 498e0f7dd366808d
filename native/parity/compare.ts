// Comparison of two sets of normalised artefacts (docs/ARCHITECTURE.md "Parity harness"): per artefact, equal or a unified diff (the
// `diff` package) labelled with the domain that produced the file; known differences applied.
import { createTwoFilesPatch, diffLines } from 'diff';
import type { DomainName } from '../core/stage.js';
import { acceptChanges, type KnownDifference } from '../compare/known-differences.js';

export type Verdict = 'same' | 'differs' | 'accepted';

export interface Comparison {
  readonly host: string;
  readonly scenario: string;
  readonly left: string;
  readonly right: string;
  readonly artefact: string;
  readonly domain: DomainName;
  readonly verdict: Verdict;
  readonly diff?: string;
  readonly acceptedBy?: readonly string[];
}

export type ArtefactSet = ReadonlyMap<string, { readonly domain: DomainName; readonly text: string }>;

function changedLines(a: string, b: string): string[] {
  const lines: string[] = [];
  for (const part of diffLines(a, b)) {
    if (!part.added && !part.removed) continue;
    lines.push(...part.value.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1)));
  }
  return lines;
}

export function compareSets(where: { host: string; scenario: string }, leftName: string, left: ArtefactSet,
  rightName: string, right: ArtefactSet, known: readonly KnownDifference[], used: Set<KnownDifference>): Comparison[] {
  const names = [...new Set([...left.keys(), ...right.keys()])].sort();
  return names.map((artefact): Comparison => {
    const a = left.get(artefact);
    const b = right.get(artefact);
    const domain = (a ?? b)?.domain ?? 'orchestrator';
    const base = { ...where, left: leftName, right: rightName, artefact, domain };
    const aText = a?.text ?? '(absent)\n';
    const bText = b?.text ?? '(absent)\n';
    if (aText === bText) return { ...base, verdict: 'same' };
    const accepted = acceptChanges(known, { ...where, artefact }, changedLines(aText, bText));
    const diff = createTwoFilesPatch(`${leftName}/${artefact}`, `${rightName}/${artefact}`, aText, bText,
      `domain ${domain}`, `domain ${domain}`, { context: 3 });
    if (accepted !== undefined) {
      for (const entry of accepted) used.add(entry);
      return { ...base, verdict: 'accepted', diff, acceptedBy: accepted.map((e) => e.reason) };
    }
    return { ...base, verdict: 'differs', diff };
  });
}
