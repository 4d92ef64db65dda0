// Reads the `lab:` section of a lab file (lab.yaml): a matrix of VMs, checked with every problem's line and column.

import { readFile } from 'node:fs/promises';
import { isMap, isSeq, type Node } from 'yaml';
import {
  describeErrno,
  describeNode,
  listEntries,
  parseYamlSource,
  ProblemList,
  readNodeValue,
  suggestName,
  type MapEntry,
  type PathSeg,
  type Pos,
  type YamlSource,
} from '../inventory/index.js';
import { GauntletError } from '../model/index.js';
import { checkDriverOnFs, checkVmSetting, expandVmMatrices, MEM_RANGE_MIB, naturalDriver, type VmMatrix, type VmSpec } from './vm-plan.js';

/** Keys of one matrix entry; list-valued ones expand into every combination. */
const ENTRY_KEYS = ['name', 'kernel', 'fs', 'driver', 'engine', 'mem', 'count'] as const;
/** Keys of the `lab:` section itself: defaults for every entry, plus settings of the whole lab. */
const SECTION_KEYS = [...ENTRY_KEYS, 'vms', 'accel', 'netconsole'] as const;
const LIST_KEYS = new Set(['kernel', 'fs', 'driver', 'engine']);
const ACCELS = ['auto', 'kvm', 'tcg'] as const;

export interface LabFile {
  vms: VmSpec[];
  accel?: (typeof ACCELS)[number];
  netconsolePort?: number;
}

type EntryValues = Partial<Record<(typeof ENTRY_KEYS)[number], unknown>>;

/** Reads and checks a lab file; a USAGE error lists every problem as `file:line:col path: expected …, got …`. */
export async function loadLabFile(file: string): Promise<LabFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GauntletError('USAGE', `lab: ${file}: expected a readable lab file, got ${describeErrno((err as NodeJS.ErrnoException).code ?? 'EIO')}`);
  }
  return parseLabFile(text, file);
}

export function parseLabFile(text: string, file: string): LabFile {
  const problems = new ProblemList();
  const src = parseYamlSource(text, problems);
  const result: LabFile = { vms: [] };
  const matrices: VmMatrix[] = [];
  if (!src.hasSyntaxErrors) readSection(src, problems, result, matrices);
  if (problems.size > 0) {
    const details = problems.formatLines(file);
    throw new GauntletError('USAGE', `lab: ${file}: ${details.length} problem${details.length === 1 ? '' : 's'}`, { details });
  }
  result.vms = expandVmMatrices(matrices, result.netconsolePort);
  return result;
}

function readSection(src: YamlSource, problems: ProblemList, result: LabFile, matrices: VmMatrix[]): void {
  const root = src.doc.contents as Node | null;
  if (!isMap(root)) {
    problems.add({ pos: { line: 1, col: 1 }, path: '(root)', expected: 'a mapping with a lab: section', got: describeNode(src, root) });
    return;
  }
  // Other top-level sections belong to other tools or commands; only `lab:` is read here.
  const section = listEntries(src, root, [], problems, 'key').find((entry) => entry.name === 'lab');
  if (!section) {
    problems.add({ pos: { line: 1, col: 1 }, path: 'lab', expected: 'a lab: section describing the VMs', got: 'no lab: key' });
    return;
  }
  if (!isMap(section.valueNode)) {
    problems.add({ pos: section.valuePos, path: ['lab'], expected: 'a mapping (kernel, fs, driver, engine, mem, count, or vms: [...])', got: describeNode(src, section.valueNode) });
    return;
  }
  const entries = listEntries(src, section.valueNode, ['lab'], problems, 'key');
  const defaults = readEntry(src, problems, entries, ['lab'], SECTION_KEYS);
  for (const entry of entries) {
    const value = readNodeValue(src, entry.valueNode);
    const problem =
      entry.name === 'accel'
        ? typeof value === 'string' && (ACCELS as readonly string[]).includes(value)
          ? undefined
          : { expected: `one of ${ACCELS.join(', ')}`, got: JSON.stringify(value) }
        : entry.name === 'netconsole'
          ? checkVmSetting('netconsole', value)
          : undefined;
    if (problem) problems.add({ pos: entry.valuePos, path: ['lab', entry.name], ...problem });
    else if (entry.name === 'accel') result.accel = value as LabFile['accel'];
    else if (entry.name === 'netconsole') result.netconsolePort = value as number;
  }
  const vms = entries.find((entry) => entry.name === 'vms');
  if (!vms) {
    const matrix = toMatrix(problems, defaults, ['lab'], section.valuePos);
    if (matrix) matrices.push(matrix);
    return;
  }
  if (!isSeq(vms.valueNode) || vms.valueNode.items.length === 0) {
    problems.add({ pos: vms.valuePos, path: ['lab', 'vms'], expected: 'a non-empty list of VM entries', got: describeNode(src, vms.valueNode) });
    return;
  }
  if (defaults.name !== undefined) {
    const nameEntry = entries.find((entry) => entry.name === 'name')!;
    problems.add({ pos: nameEntry.keyPos, path: ['lab', 'name'], expected: 'names on each entry of vms', got: 'a name for the whole section', hint: 'move name: into the entries' });
  }
  vms.valueNode.items.forEach((item, i) => {
    const node = item as Node;
    const path: PathSeg[] = ['lab', 'vms', i];
    const pos = src.lineCounter.linePos(node.range?.[0] ?? 0);
    if (!isMap(node)) {
      problems.add({ pos, path, expected: 'a mapping (name, kernel, fs, driver, engine, mem, count)', got: describeNode(src, node) });
      return;
    }
    const own = readEntry(src, problems, listEntries(src, node, path, problems, 'key'), path, ENTRY_KEYS);
    const merged = { ...defaults, ...own, at: { ...defaults.at, ...own.at } };
    const matrix = toMatrix(problems, merged, path, pos);
    if (matrix) matrices.push(matrix);
  });
}

/** Checks the entry's keys and values; returns the values that passed, keyed by name, with where each was written. */
function readEntry(src: YamlSource, problems: ProblemList, entries: MapEntry[], path: PathSeg[], allowed: readonly string[]): EntryValues & { at?: Record<string, MapEntry> } {
  const values: EntryValues & { at?: Record<string, MapEntry> } = { at: {} };
  for (const entry of entries) {
    if (!allowed.includes(entry.name)) {
      const hint = suggestName(entry.name, allowed);
      problems.add({ pos: entry.keyPos, path: [...path, entry.name], expected: `one of the keys ${allowed.join(', ')}`, got: JSON.stringify(entry.name), ...(hint ? { hint } : {}) });
      continue;
    }
    if (!(ENTRY_KEYS as readonly string[]).includes(entry.name)) continue;
    const key = entry.name as (typeof ENTRY_KEYS)[number];
    const value = readNodeValue(src, entry.valueNode);
    const items = LIST_KEYS.has(key) && Array.isArray(value) ? value : [value];
    if (LIST_KEYS.has(key) && Array.isArray(value) && value.length === 0) {
      problems.add({ pos: entry.valuePos, path: [...path, key], expected: `a ${key} or a non-empty list of them`, got: 'an empty list' });
      continue;
    }
    let ok = true;
    items.forEach((item, i) => {
      const problem = checkVmSetting(key, item);
      if (!problem) return;
      ok = false;
      const itemNode = isSeq(entry.valueNode) ? (entry.valueNode.items[i] as Node) : entry.valueNode;
      const pos = itemNode?.range ? src.lineCounter.linePos(itemNode.range[0]) : entry.valuePos;
      problems.add({ pos, path: Array.isArray(value) ? [...path, key, i] : [...path, key], ...problem });
    });
    if (ok) {
      values[key] = value;
      values.at![key] = entry;
    }
  }
  return values;
}

function asList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]) as string[];
}

function toMatrix(problems: ProblemList, values: EntryValues & { at?: Record<string, MapEntry> }, path: PathSeg[], where: Pos): VmMatrix | undefined {
  const fs = asList(values.fs) ?? ['ext4'];
  const drivers = asList(values.driver);
  let ok = true;
  for (const f of fs) {
    for (const driver of drivers ?? [naturalDriver(f)]) {
      const clash = checkDriverOnFs(driver, f);
      if (!clash) continue;
      ok = false;
      const at = values.at?.driver ?? values.at?.fs;
      problems.add({ pos: at?.valuePos ?? where, path: [...path, values.at?.driver ? 'driver' : 'fs'], expected: clash.expected, got: clash.got });
    }
  }
  if (!ok) return undefined;
  return {
    ...(typeof values.name === 'string' ? { name: values.name } : {}),
    kernels: asList(values.kernel) ?? [],
    fs,
    ...(drivers ? { drivers } : {}),
    engines: asList(values.engine) ?? ['docker'],
    memMiB: (values.mem as number | undefined) ?? MEM_RANGE_MIB.default,
    count: (values.count as number | undefined) ?? 1,
  };
}
