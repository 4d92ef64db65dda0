// Applies variable precedence to every host and builds its HostSpec, resolving jumps and duplicate machines.
import { userInfo } from 'node:os';

import type { ConnectionKind, ConsoleSpec, HostSpec, JumpSpec } from '../model/index.js';
import type { ProblemList } from './problems.js';
import type { GroupRecord, HostRecord, InventoryTree } from './read-tree.js';
import type { Destination } from './ssh-args.js';
import { INVALID, type CheckedVariable, type JumpValue } from './variables.js';

export const DEFAULTS = {
  port: 22,
  connectTimeoutS: 10,
  keepaliveIntervalS: 5,
  keepaliveCountMax: 3,
  heartbeatIntervalS: 2,
  heartbeatTimeoutS: 5,
  dockerSocket: '/var/run/docker.sock',
} as const;

/** Ansible's default `ansible_group_priority`. */
const DEFAULT_GROUP_PRIORITY = 1;

/**
 * Where alias spellings compete, the later one in Ansible's connection-plugin list wins, whatever
 * level each was set at (`ansible_ssh_host` beats `ansible_host`); these lists are in winning order.
 */
const ADDRESS_VARS = ['ansible_ssh_host', 'ansible_host'];
const PORT_VARS = ['ansible_ssh_port', 'ansible_port'];
const USER_VARS = ['ansible_ssh_user', 'ansible_user'];
const KEY_FILE_VARS = ['ansible_ssh_private_key_file', 'ansible_private_key_file'];
/** In the order ssh sees them on its command line; as in ssh, the first ProxyJump wins. */
const SSH_ARGS_VARS = ['ansible_ssh_args', 'ansible_ssh_common_args', 'ansible_ssh_extra_args'];

export interface ResolvedInventory {
  hosts: HostSpec[];
  groups: Record<string, string[]>;
}

interface GroupGraph {
  parents: Map<string, Set<string>>;
  depth: Map<string, number>;
}

/** A jump a host asks for, before the hosts it may name are all built. */
type PendingJump =
  | { kind: 'named'; target: string; variable: CheckedVariable }
  | { kind: 'address'; dest: Destination; variable: CheckedVariable };

interface Draft {
  record: HostRecord;
  groups: string[];
  spec?: HostSpec;
  jump?: PendingJump;
}

export function resolveInventory(tree: InventoryTree, file: string, problems: ProblemList): ResolvedInventory {
  const graph = buildGroupGraph(tree, problems);
  const priorities = new Map([...tree.groups.values()].map((g) => [g.name, readGroupPriority(g)]));
  const byPrecedence = (a: string, b: string): number =>
    (graph.depth.get(a) ?? 1) - (graph.depth.get(b) ?? 1) ||
    (priorities.get(a) ?? DEFAULT_GROUP_PRIORITY) - (priorities.get(b) ?? DEFAULT_GROUP_PRIORITY) ||
    (a < b ? -1 : a > b ? 1 : 0);

  const drafts: Draft[] = [];
  for (const record of tree.hosts.values()) {
    const groups = listAncestors(record.directGroups, graph);
    if (groups.size === 1) groups.add('ungrouped');
    const ordered = [...groups].sort(byPrecedence);
    const merged = new Map<string, CheckedVariable>();
    for (const name of ordered) for (const v of tree.groups.get(name)?.vars ?? []) merged.set(v.name, v);
    for (const v of record.vars) merged.set(v.name, v);
    drafts.push({ record, groups: ordered, ...buildDraftSpec(record, ordered, merged, file) });
  }

  const byName = new Map(drafts.map((d) => [d.record.name, d]));
  for (const draft of drafts) resolveJump(draft, byName, problems);
  reportSameMachines(drafts, problems);

  // Without hosts because of an earlier problem (a `hosts:` list, a bad range), that problem is the news.
  if (tree.isMapping && tree.hosts.size === 0 && problems.size === 0) {
    const got = tree.groups.size > 1 ? 'groups without hosts' : 'an empty file';
    problems.add({ pos: { line: 1, col: 1 }, path: '(root)', expected: 'an inventory with at least one host', got, hint: 'add localhost: {ansible_connection: local} under all.hosts' });
  }

  const groupNames = [...tree.groups.keys()];
  if (drafts.some((d) => d.groups.includes('ungrouped')) && !groupNames.includes('ungrouped')) groupNames.push('ungrouped');
  const groups: Record<string, string[]> = {};
  for (const name of groupNames) groups[name] = drafts.filter((d) => d.groups.includes(name)).map((d) => d.record.name);

  return { hosts: drafts.flatMap((d) => (d.spec === undefined ? [] : [d.spec])), groups };
}

/** Parent links from `children:`, with cycles reported and cut, and each group's depth below `all`. */
function buildGroupGraph(tree: InventoryTree, problems: ProblemList): GroupGraph {
  const parents = new Map<string, Set<string>>();
  const children = new Map<string, string[]>();
  for (const group of tree.groups.values()) {
    parents.set(group.name, parents.get(group.name) ?? new Set());
    children.set(group.name, []);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  const visit = (name: string, trail: string[]): void => {
    state.set(name, 'visiting');
    for (const ref of tree.groups.get(name)?.childRefs ?? []) {
      if (state.get(ref.name) === 'visiting') {
        const cycle = [...trail.slice(trail.indexOf(ref.name)), name, ref.name].join(' → ');
        problems.add({ pos: ref.pos, path: ref.path, expected: 'a group tree without cycles', got: cycle });
        continue;
      }
      parents.get(ref.name)!.add(name);
      if (!children.get(name)!.includes(ref.name)) children.get(name)!.push(ref.name);
      if (state.get(ref.name) === undefined) visit(ref.name, [...trail, name]);
    }
    state.set(name, 'done');
    order.push(name);
  };
  visit('all', []);
  // Depth is the longest path from `all`, as Ansible computes it, so a child always outranks its parents.
  const depth = new Map<string, number>([['all', 0]]);
  for (const name of order.reverse()) {
    for (const child of children.get(name) ?? []) depth.set(child, Math.max(depth.get(child) ?? 0, (depth.get(name) ?? 0) + 1));
  }
  return { parents, depth };
}

function listAncestors(direct: string[], graph: GroupGraph): Set<string> {
  const found = new Set<string>(['all']);
  const queue = [...direct];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (found.has(name)) continue;
    found.add(name);
    queue.push(...(graph.parents.get(name) ?? []));
  }
  return found;
}

function readGroupPriority(group: GroupRecord): number {
  const last = group.vars.filter((v) => v.name === 'ansible_group_priority').pop();
  return typeof last?.value === 'number' ? last.value : DEFAULT_GROUP_PRIORITY;
}

let cachedUser: string | undefined;

/** The runner's user, Ansible's default `ansible_user`; containers without a passwd entry fall back to $USER. */
function readCurrentUser(): string {
  if (cachedUser === undefined) {
    try {
      cachedUser = userInfo().username;
    } catch {
      cachedUser = process.env['USER'] ?? process.env['LOGNAME'] ?? 'root';
    }
  }
  return cachedUser;
}

function buildDraftSpec(record: HostRecord, groups: string[], merged: Map<string, CheckedVariable>, file: string): Pick<Draft, 'spec' | 'jump'> {
  // A host with any invalid value gets no spec; its problems are already listed.
  if ([...merged.values()].some((v) => v.value === INVALID)) return {};
  const pick = <T>(...names: string[]): T | undefined => {
    for (const name of names) if (merged.has(name)) return merged.get(name)!.value as T;
    return undefined;
  };
  const connection = pick<ConnectionKind>('ansible_connection') ?? 'ssh';
  const address = pick<string>(...ADDRESS_VARS) ?? record.name;
  const port = pick<number>(...PORT_VARS) ?? DEFAULTS.port;
  const user = pick<string>(...USER_VARS) ?? readCurrentUser();
  const spec: HostSpec = {
    name: record.name,
    id: connection === 'local' ? `local://${record.name}` : formatSshId(user, address, port),
    connection,
    address,
    port,
    user,
    groups,
    labels: pick<Record<string, string>>('gauntlet_labels') ?? {},
    disposable: pick<boolean>('gauntlet_disposable') ?? false,
    connectTimeoutS: pick<number>('gauntlet_connect_timeout') ?? DEFAULTS.connectTimeoutS,
    keepaliveIntervalS: pick<number>('gauntlet_keepalive_interval') ?? DEFAULTS.keepaliveIntervalS,
    keepaliveCountMax: pick<number>('gauntlet_keepalive_count_max') ?? DEFAULTS.keepaliveCountMax,
    heartbeatIntervalS: pick<number>('gauntlet_heartbeat_interval') ?? DEFAULTS.heartbeatIntervalS,
    heartbeatTimeoutS: pick<number>('gauntlet_heartbeat_timeout') ?? DEFAULTS.heartbeatTimeoutS,
    dockerSocket: pick<string>('gauntlet_docker_socket') ?? DEFAULTS.dockerSocket,
    vars: Object.fromEntries([...merged].map(([name, v]) => [name, v.raw])),
    source: { file, line: record.pos.line, col: record.pos.col },
  };
  const keyFile = pick<string>(...KEY_FILE_VARS);
  if (keyFile !== undefined) spec.keyFile = keyFile;
  const knownHostsFile = pick<string>('gauntlet_known_hosts');
  if (knownHostsFile !== undefined) spec.knownHostsFile = knownHostsFile;
  const consoleSpec = pick<ConsoleSpec>('gauntlet_console');
  if (consoleSpec !== undefined) spec.console = consoleSpec;
  const powerCycle = pick<string>('gauntlet_power_cycle');
  if (powerCycle !== undefined) spec.powerCycle = powerCycle;
  return connection === 'local' ? { spec } : { spec, ...findPendingJump(spec, merged) };
}

/** `gauntlet_jump` first, else the first ProxyJump in the ssh arguments; a jump through the host itself is none. */
function findPendingJump(spec: HostSpec, merged: Map<string, CheckedVariable>): { jump?: PendingJump } {
  const explicit = merged.get('gauntlet_jump');
  if (explicit !== undefined) {
    const { text, dest } = explicit.value as JumpValue;
    if (text === spec.name || isSelf(spec, dest)) return {};
    return { jump: { kind: 'named', target: text, variable: explicit } };
  }
  for (const name of SSH_ARGS_VARS) {
    const variable = merged.get(name);
    const dest = variable?.value as Destination | null | undefined;
    if (dest === undefined || variable === undefined) continue;
    if (dest === null || isSelf(spec, dest)) return {};
    return { jump: { kind: 'address', dest, variable } };
  }
  return {};
}

function isSelf(spec: HostSpec, dest: Destination): boolean {
  return dest.address.toLowerCase() === spec.address.toLowerCase() && (dest.port ?? DEFAULTS.port) === spec.port;
}

function resolveJump(draft: Draft, byName: Map<string, Draft>, problems: ProblemList): void {
  const { spec, jump } = draft;
  if (spec === undefined || jump === undefined) return;
  const field = jump.variable.field;
  const report = (expected: string, got: string, hint?: string): void =>
    problems.add({ pos: field.pos, path: field.path, expected, got, ...(hint === undefined ? {} : { hint }) });
  let dest: Destination;
  if (jump.kind === 'named') {
    const target = byName.get(jump.target);
    if (target !== undefined) {
      if (target.spec === undefined) return; // its own problems are listed
      if (target.spec.connection === 'local') {
        report('an SSH host to jump through', `${JSON.stringify(jump.target)} (ansible_connection: local)`);
        return;
      }
      if (target.jump !== undefined) {
        const via = target.jump.kind === 'named' ? target.jump.target : target.jump.dest.address;
        report('a jump host reached without a jump', `${JSON.stringify(jump.target)}, which jumps through ${JSON.stringify(via)}`, 'chained jumps are not supported');
        return;
      }
      const named: JumpSpec = { address: target.spec.address, port: target.spec.port, user: target.spec.user, name: target.spec.name };
      if (target.spec.keyFile !== undefined) named.keyFile = target.spec.keyFile;
      spec.jump = named;
      return;
    }
    const variable = jump.variable.value as JumpValue;
    dest = variable.dest;
  } else {
    dest = jump.dest;
  }
  // As with ssh -J, the jump host's user defaults to the runner's user, not the target's.
  spec.jump = { address: dest.address, port: dest.port ?? DEFAULTS.port, user: dest.user ?? readCurrentUser() };
}

/** `ssh://user@addr:port`, brackets around an IPv6 address. */
export function formatSshId(user: string, address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `ssh://${user}@${host}:${port}`;
}

function reportSameMachines(drafts: Draft[], problems: ProblemList): void {
  const seen = new Map<string, HostSpec>();
  for (const { record, spec } of drafts) {
    if (spec === undefined) continue;
    const machine = spec.connection === 'local' ? 'local' : spec.id.toLowerCase();
    const first = seen.get(machine);
    if (first === undefined) {
      seen.set(machine, spec);
      continue;
    }
    const what = spec.connection === 'local' ? 'this runner (ansible_connection: local)' : first.id;
    problems.add({
      pos: record.pos,
      path: record.path,
      expected: 'one inventory host per machine',
      got: `hosts ${first.name} and ${spec.name} are the same machine ${what}`,
      hint: 'two workers would stress one machine; remove one, or put the host in several groups',
    });
  }
}
