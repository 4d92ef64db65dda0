// Parses inventory text with the yaml library, keeping every node's line:col, and lists mapping entries.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node, YAMLMap } from 'yaml';

import { describeValue, ProblemList, type PathSeg, type Pos } from './problems.js';

export interface YamlSource {
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** True when the text is not valid YAML; the tree is then too unreliable to check further. */
  hasSyntaxErrors: boolean;
}

/** One key of a mapping, with its value node (aliases resolved) and where both are written. */
export interface MapEntry {
  name: string;
  keyNode: Node;
  valueNode: Node | null;
  keyPos: Pos;
  /** The value's position, or the key's when the value is empty. */
  valuePos: Pos;
}

/** What the keys of a mapping name, for duplicate-key messages. */
export type KeyKind = 'host' | 'group' | 'variable' | 'key';

const SYNTAX_HINTS: Partial<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BLOCK_AS_IMPLICIT_KEY: 'a value that contains ": " must be quoted',
  MULTIPLE_DOCS: 'an inventory is one YAML document',
};

/**
 * Parses the text and records every YAML error as a problem. Duplicate keys are left to `listEntries`
 * (uniqueKeys off), which names the mapping's kind and path ("duplicate host") where the yaml library
 * would only say "Map keys must be unique". Merge keys (`<<: *anchor`) are on, as in Ansible's PyYAML.
 */
export function parseYamlSource(text: string, problems: ProblemList): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, merge: true });
  for (const error of doc.errors) {
    const hint = SYNTAX_HINTS[error.code];
    problems.add({
      pos: lineCounter.linePos(error.pos[0]),
      path: '(yaml)',
      expected: 'valid YAML',
      got: describeSyntaxError(error.message),
      ...(hint === undefined ? {} : { hint }),
    });
  }
  return { doc, lineCounter, hasSyntaxErrors: doc.errors.length > 0 };
}

/**
 * The yaml library's message without the source text some messages end with after a colon
 * (`…in YAML stream: "c"`, `Block scalar header includes extra characters: …`): that text could be
 * a secret on a broken line.
 */
function describeSyntaxError(message: string): string {
  const bare = message.replace(/:\s.*$/s, '').trim();
  return bare.charAt(0).toLowerCase() + bare.slice(1);
}

export function locateNode(src: YamlSource, node: Node | null | undefined, fallback: Pos = { line: 1, col: 1 }): Pos {
  const start = node?.range?.[0];
  return start === undefined ? fallback : src.lineCounter.linePos(start);
}

/** Follows an alias to its anchored node; other nodes are returned as they are. */
export function resolveNode(src: YamlSource, node: unknown): Node | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return (node.resolve(src.doc) as Node | undefined) ?? null;
  return node as Node;
}

/** True for a missing value or an empty one (`web2:` with nothing after the colon). */
export function isEmptyNode(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** The node as plain JavaScript (mappings become objects), merge keys and aliases applied. */
export function readNodeValue(src: YamlSource, node: Node | null): unknown {
  if (node === null) return null;
  return node.toJS(src.doc, { maxAliasCount: 100 }) as unknown;
}

/** `got …` text for a node: a scalar's value, or the collection's kind. */
export function describeNode(src: YamlSource, node: Node | null): string {
  if (node === null) return 'null';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  return describeValue(readNodeValue(src, node));
}

function isMergeKey(node: unknown): boolean {
  return isScalar(node) && typeof node.value === 'symbol' && node.value.description === '<<';
}

function readKeyName(node: Node | null): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

/**
 * The entries of a mapping in file order: its own keys first, then keys brought in by merge keys
 * (which never override its own). A duplicate own key, a key that is not a name and a merge of
 * something that is not a mapping are problems; the offending entry is skipped.
 */
export function listEntries(src: YamlSource, map: YAMLMap, path: readonly PathSeg[], problems: ProblemList, kind: KeyKind): MapEntry[] {
  const entries: MapEntry[] = [];
  const firstSeen = new Map<string, Pos>();
  const mergeSources: Node[] = [];
  for (const pair of map.items) {
    const keyNode = resolveNode(src, pair.key);
    if (isMergeKey(keyNode)) {
      const source = resolveNode(src, pair.value);
      if (source !== null) mergeSources.push(source);
      continue;
    }
    const keyPos = locateNode(src, keyNode, locateNode(src, map));
    const name = readKeyName(keyNode);
    if (name === undefined || keyNode === null) {
      problems.add({ pos: keyPos, path: [...path], expected: `a ${kind === 'key' ? 'key' : `${kind} name`}`, got: describeNode(src, keyNode) });
      continue;
    }
    const first = firstSeen.get(name);
    if (first !== undefined) {
      problems.add({
        pos: keyPos,
        path: [...path, name],
        expected: `each ${kind} once in a mapping`,
        got: `duplicate ${kind} ${JSON.stringify(name)} (first at line ${first.line})`,
      });
      continue;
    }
    firstSeen.set(name, keyPos);
    entries.push(makeEntry(src, name, keyNode, resolveNode(src, pair.value), keyPos));
  }
  for (const source of mergeSources) {
    const maps = isSeq(source) ? source.items.map((item) => resolveNode(src, item)) : [source];
    for (const merged of maps) {
      if (!isMap(merged)) {
        problems.add({ pos: locateNode(src, merged, locateNode(src, source)), path: [...path, '<<'], expected: 'a mapping to merge (<<: *anchor)', got: describeNode(src, merged) });
        continue;
      }
      // Problems inside the merged mapping are reported where that mapping is written.
      for (const entry of listEntries(src, merged, path, new ProblemList(), kind)) {
        if (firstSeen.has(entry.name)) continue;
        firstSeen.set(entry.name, entry.keyPos);
        entries.push(entry);
      }
    }
  }
  return entries;
}

function makeEntry(src: YamlSource, name: string, keyNode: Node, valueNode: Node | null, keyPos: Pos): MapEntry {
  const valuePos = isEmptyNode(valueNode) ? keyPos : locateNode(src, valueNode, keyPos);
  return { name, keyNode, valueNode, keyPos, valuePos };
}
