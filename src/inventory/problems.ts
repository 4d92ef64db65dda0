// Collects inventory validation problems and formats each as one `file:line:col path: expected …, got …` line.

/** 1-based position of a node in the inventory text. */
export interface Pos {
  line: number;
  col: number;
}

/** One step of a YAML path: a mapping key or a sequence index. */
export type PathSeg = string | number;

export interface Problem {
  pos: Pos;
  /** Dotted YAML path, or a pseudo-path in parentheses such as `(yaml)` or `(root)`. */
  path: PathSeg[] | string;
  expected: string;
  got: string;
  hint?: string;
}

/** Shown instead of a secret's value, everywhere. */
export const REDACTED = '<redacted>';

const MAX_SHOWN_CHARS = 60;

/** Every problem found in one inventory, kept until the whole file has been checked. */
export class ProblemList {
  private readonly items: Problem[] = [];

  add(problem: Problem): void {
    this.items.push(problem);
  }

  get size(): number {
    return this.items.length;
  }

  /** One line per problem, in file order (stable for problems at the same place), without repeats. */
  formatLines(file: string): string[] {
    const sorted = [...this.items].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
    const lines = sorted.map((p) => formatProblem(file, p));
    return [...new Set(lines)];
  }
}

export function formatProblem(file: string, p: Problem): string {
  const path = typeof p.path === 'string' ? p.path : formatPath(p.path);
  const hint = p.hint === undefined ? '' : `; hint: ${p.hint}`;
  return `${file}:${p.pos.line}:${p.pos.col} ${path}: expected ${p.expected}, got ${p.got}${hint}`;
}

/**
 * `all.hosts.db2.ansible_port`; segments that are not plain words are quoted so that host names with
 * dots stay readable: `all.hosts["db1.example.com"].ansible_port`, `gauntlet_labels[2]`.
 */
export function formatPath(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** A received value as shown after `got`: scalars JSON-quoted and abbreviated, collections by kind. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map || typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return quoteText(value);
  return String(value);
}

/** JSON-quotes text, cut to a readable length. */
export function quoteText(text: string): string {
  const cut = text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS - 1)}…` : text;
  return JSON.stringify(cut);
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
export function measureEditDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i]!;
      const prev = d[i - 1]!;
      let best = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      row[j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** Candidates close enough to `word` to be a typo of it, closest first (at most `max`). */
export function findCloseNames(word: string, candidates: Iterable<string>, max = 3): string[] {
  const limit = word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 4));
  const scored: Array<{ name: string; distance: number }> = [];
  for (const name of new Set(candidates)) {
    if (name === word) continue;
    const a = word.toLowerCase();
    const b = name.toLowerCase();
    const distance = measureEditDistance(a, b);
    // `childs` → `children`: a long shared start counts as close even past the distance limit.
    let prefix = 0;
    while (prefix < a.length && a[prefix] === b[prefix]) prefix++;
    if (distance <= limit || (prefix >= 4 && prefix >= a.length - 1)) scored.push({ name, distance });
  }
  scored.sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
  return scored.slice(0, max).map((s) => s.name);
}

/** `did you mean X?` for the closest candidate, or undefined when none is close. */
export function suggestName(word: string, candidates: Iterable<string>): string | undefined {
  const [best] = findCloseNames(word, candidates, 1);
  return best === undefined ? undefined : `did you mean ${best}?`;
}
