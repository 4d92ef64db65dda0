// Walks an Ansible YAML inventory into groups and hosts, checking its shape and each variable where written.
import { isMap, isSeq } from 'yaml';
import type { Node } from 'yaml';

import { expandHostKey } from './host-pattern.js';
import { quoteText, suggestName, type PathSeg, type Pos } from './problems.js';
import { checkVariable, type CheckContext, type CheckedVariable, type Field } from './variables.js';
import { describeNode, isEmptyNode, listEntries, locateNode, readNodeValue, type MapEntry } from './yaml-source.js';

/** Where a group is named under another group's `children:` (or at the top level, under `all`). */
export interface ChildRef {
  name: string;
  pos: Pos;
  path: PathSeg[];
}

export interface GroupRecord {
  name: string;
  pos: Pos;
  childRefs: ChildRef[];
  /** Hosts listed under this group's own `hosts:`, in file order. */
  hostNames: string[];
  /** The group's variables from every place it is declared, in file order. */
  vars: CheckedVariable[];
}

export interface HostRecord {
  name: string;
  /** Where the host is first written, and that key's path. */
  pos: Pos;
  path: PathSeg[];
  /** Groups whose `hosts:` list this host, in file order. */
  directGroups: string[];
  /** The host's own variables from every place it is declared, in file order. */
  vars: CheckedVariable[];
}

export interface InventoryTree {
  /** In file order, `all` first. */
  groups: Map<string, GroupRecord>;
  /** In file order. */
  hosts: Map<string, HostRecord>;
  /** False when the document is not a mapping of groups (already reported). */
  isMapping: boolean;
}

const GROUP_KEYS = ['hosts', 'vars', 'children'];
const ORIGIN: Pos = { line: 1, col: 1 };

/** Reads every group, host and variable, reporting shape problems and bad values as it goes. */
export function readInventoryTree(ctx: CheckContext): InventoryTree {
  const tree: InventoryTree = { groups: new Map(), hosts: new Map(), isMapping: true };
  const root = ctx.src.doc.contents as Node | null;
  findGroup(tree, 'all', ORIGIN);
  if (isEmptyNode(root)) return tree;
  if (!isMap(root)) {
    ctx.problems.add({ pos: locateNode(ctx.src, root), path: '(root)', expected: 'a mapping of groups (all: …)', got: describeNode(ctx.src, root) });
    tree.isMapping = false;
    return tree;
  }
  for (const entry of listEntries(ctx.src, root, [], ctx.problems, 'group')) {
    readGroup(tree, ctx, entry, [entry.name], entry.name === 'all' ? undefined : 'all');
  }
  return tree;
}

function findGroup(tree: InventoryTree, name: string, pos: Pos): GroupRecord {
  let group = tree.groups.get(name);
  if (group === undefined) {
    group = { name, pos, childRefs: [], hostNames: [], vars: [] };
    tree.groups.set(name, group);
  }
  return group;
}

function readGroup(tree: InventoryTree, ctx: CheckContext, entry: MapEntry, path: PathSeg[], parent: string | undefined): void {
  const { src, problems } = ctx;
  if (entry.name === 'all' && parent !== undefined) {
    problems.add({ pos: entry.keyPos, path, expected: 'a child group other than all', got: '"all"', hint: 'every group is already a child of all' });
    return;
  }
  const group = findGroup(tree, entry.name, entry.keyPos);
  if (parent !== undefined) findGroup(tree, parent, entry.keyPos).childRefs.push({ name: entry.name, pos: entry.keyPos, path });
  const node = entry.valueNode;
  if (isEmptyNode(node)) return;
  if (!isMap(node)) {
    problems.add({ pos: entry.valuePos, path, expected: 'a group mapping with hosts, vars or children', got: describeNode(src, node) });
    return;
  }
  for (const item of listEntries(src, node, path, problems, 'key')) {
    const itemPath = [...path, item.name];
    if (item.name === 'hosts') readHosts(tree, ctx, group, item, itemPath);
    else if (item.name === 'vars') group.vars.push(...readVariables(ctx, item, itemPath));
    else if (item.name === 'children') readChildren(tree, ctx, group, item, itemPath);
    else {
      const isVariable = /^(ansible|gauntlet)_/.test(item.name);
      const hint = suggestName(item.name, GROUP_KEYS) ?? (isVariable ? 'group variables go under vars:' : 'hosts go under hosts:, variables under vars:, groups under children:');
      problems.add({ pos: item.keyPos, path: itemPath, expected: 'a group key (hosts, vars, children)', got: JSON.stringify(item.name), hint });
    }
  }
}

function readChildren(tree: InventoryTree, ctx: CheckContext, group: GroupRecord, entry: MapEntry, path: PathSeg[]): void {
  const node = entry.valueNode;
  if (isEmptyNode(node)) return;
  if (!isMap(node)) {
    const hint = isSeq(node) ? 'write each child group as name: on its own line' : undefined;
    ctx.problems.add({ pos: entry.valuePos, path, expected: 'a mapping of child groups', got: describeNode(ctx.src, node), ...(hint ? { hint } : {}) });
    return;
  }
  for (const child of listEntries(ctx.src, node, path, ctx.problems, 'group')) {
    readGroup(tree, ctx, child, [...path, child.name], group.name);
  }
}

function readHosts(tree: InventoryTree, ctx: CheckContext, group: GroupRecord, entry: MapEntry, path: PathSeg[]): void {
  const { src, problems } = ctx;
  const node = entry.valueNode;
  if (isEmptyNode(node)) return;
  if (!isMap(node)) {
    const hint = isSeq(node) ? 'write each host as name: on its own line' : undefined;
    problems.add({ pos: entry.valuePos, path, expected: 'a mapping of host names', got: describeNode(src, node), ...(hint ? { hint } : {}) });
    return;
  }
  for (const hostEntry of listEntries(src, node, path, problems, 'host')) {
    const hostPath = [...path, hostEntry.name];
    const key = expandHostKey(hostEntry.name);
    if (!key.ok) {
      problems.add({ pos: hostEntry.keyPos, path: hostPath, expected: key.expected, got: quoteText(hostEntry.name), ...(key.hint ? { hint: key.hint } : {}) });
      continue;
    }
    const vars: CheckedVariable[] = [];
    if (key.port !== undefined) {
      // `name:port` is Ansible's shorthand for ansible_port on that host.
      const field: Field = { value: key.port, node: null, pos: hostEntry.keyPos, keyPos: hostEntry.keyPos, path: [...hostPath, 'ansible_port'] };
      vars.push({ name: 'ansible_port', raw: key.port, value: key.port, field });
    }
    const value = hostEntry.valueNode;
    if (isMap(value)) vars.push(...readVariables(ctx, hostEntry, hostPath));
    else if (!isEmptyNode(value)) {
      problems.add({ pos: hostEntry.valuePos, path: hostPath, expected: 'a mapping of host variables or nothing', got: describeNode(src, value) });
    }
    for (const name of key.names) {
      let host = tree.hosts.get(name);
      if (host === undefined) {
        host = { name, pos: hostEntry.keyPos, path: hostPath, directGroups: [], vars: [] };
        tree.hosts.set(name, host);
      }
      if (!host.directGroups.includes(group.name)) host.directGroups.push(group.name);
      if (!group.hostNames.includes(name)) group.hostNames.push(name);
      host.vars.push(...vars);
    }
  }
}

function readVariables(ctx: CheckContext, entry: MapEntry, path: PathSeg[]): CheckedVariable[] {
  const { src, problems } = ctx;
  const node = entry.valueNode;
  if (isEmptyNode(node)) return [];
  if (!isMap(node)) {
    problems.add({ pos: entry.valuePos, path, expected: 'a mapping of variables', got: describeNode(src, node) });
    return [];
  }
  return listEntries(src, node, path, problems, 'variable').map((item) =>
    checkVariable(
      { value: readNodeValue(src, item.valueNode), node: item.valueNode, pos: item.valuePos, keyPos: item.keyPos, path: [...path, item.name] },
      ctx,
    ),
  );
}
