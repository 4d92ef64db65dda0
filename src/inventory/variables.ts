// The table of inventory variables gauntlet reads, ignores or refuses, with one checker per variable.
import { isIPv6 } from 'node:net';
import { isMap, isSeq } from 'yaml';
import type { Node } from 'yaml';

import type { ConnectionKind, ConsoleSpec } from '../model/index.js';
import { explainUnreadableFile, resolveUserPath } from './file-paths.js';
import { describeValue, quoteText, REDACTED, suggestName, type PathSeg, type Pos, type ProblemList } from './problems.js';
import { parseDestination, parseSshArgs, type Destination } from './ssh-args.js';
import { listEntries, locateNode, readNodeValue, resolveNode, type YamlSource } from './yaml-source.js';

/** Returned by a checker whose value is wrong; the problem has already been recorded. */
export const INVALID = Symbol('invalid');
export type Checked<T> = T | typeof INVALID;

/** A value in the inventory with everything needed to point at it. */
export interface Field {
  value: unknown;
  node: Node | null;
  /** Where the value is written (the key's position when the value is empty). */
  pos: Pos;
  keyPos: Pos;
  path: PathSeg[];
}

export interface CheckContext {
  src: YamlSource;
  /** Directory relative paths are resolved against: the inventory file's. */
  baseDir: string;
  problems: ProblemList;
}

/** `gauntlet_jump` keeps its text: it may name another inventory host, resolved once all are read. */
export interface JumpValue {
  text: string;
  dest: Destination;
}

interface VariableRule {
  check(field: Field, ctx: CheckContext): unknown;
}

function fail(ctx: CheckContext, field: Field, expected: string, got?: string, hint?: string): typeof INVALID {
  ctx.problems.add({ pos: field.pos, path: field.path, expected, got: got ?? describeValue(field.value), ...(hint === undefined ? {} : { hint }) });
  return INVALID;
}

function quoteHint(field: Field): string | undefined {
  return typeof field.value === 'string' ? 'write it without quotes' : undefined;
}

// ---- Checkers, one per kind of value --------------------------------------------------------------

function checkPort(field: Field, ctx: CheckContext, expected = 'an integer 1-65535'): Checked<number> {
  const v = field.value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= 65535) return n;
  return fail(ctx, field, expected);
}

function checkAddress(field: Field, ctx: CheckContext): Checked<string> {
  const v = field.value;
  const expected = 'a host name or IP address';
  if (typeof v !== 'string' || v.trim() === '') return fail(ctx, field, expected);
  const address = v.trim().replace(/^\[(.*)\]$/, '$1');
  if (address.includes('@')) return fail(ctx, field, expected, undefined, 'put the user in ansible_user');
  if (/[\s/]/.test(address)) return fail(ctx, field, expected);
  if (address.includes(':') && !isIPv6(address)) return fail(ctx, field, expected, undefined, 'put the port in ansible_port');
  return address;
}

function checkUser(field: Field, ctx: CheckContext): Checked<string> {
  const v = field.value;
  if (typeof v !== 'string' || v === '' || /[\s@:/]/.test(v)) return fail(ctx, field, 'a user name');
  return v;
}

function checkKeyFile(field: Field, ctx: CheckContext): Checked<string> {
  const v = field.value;
  const expected = 'a readable key file';
  if (typeof v !== 'string' || v.trim() === '') return fail(ctx, field, expected);
  const path = resolveUserPath(v, ctx.baseDir);
  if (path === undefined) return fail(ctx, field, expected, undefined, 'write ~/… or a full path');
  const why = explainUnreadableFile(path);
  if (why === undefined) return path;
  return fail(ctx, field, expected, `${quoteText(v)} (${why})`, path === v ? undefined : `resolved to ${path}`);
}

function checkPath(field: Field, ctx: CheckContext, expected: string): Checked<string> {
  const v = field.value;
  if (typeof v !== 'string' || v.trim() === '') return fail(ctx, field, expected);
  return resolveUserPath(v, ctx.baseDir) ?? fail(ctx, field, expected, undefined, 'write ~/… or a full path');
}

const CONNECTIONS: Record<string, ConnectionKind> = {
  ssh: 'ssh',
  smart: 'ssh',
  paramiko: 'ssh',
  paramiko_ssh: 'ssh',
  'ansible.builtin.ssh': 'ssh',
  'ansible.builtin.paramiko_ssh': 'ssh',
  local: 'local',
  'ansible.builtin.local': 'local',
};

function checkConnection(field: Field, ctx: CheckContext): Checked<ConnectionKind> {
  const v = field.value;
  const kind = typeof v === 'string' ? CONNECTIONS[v] : undefined;
  if (kind !== undefined) return kind;
  const hint = typeof v === 'string' ? suggestName(v, Object.keys(CONNECTIONS)) : undefined;
  return fail(ctx, field, 'one of ssh, local, smart, paramiko', undefined, hint);
}

function checkSshArgs(field: Field, ctx: CheckContext): Checked<Destination | null | undefined> {
  if (typeof field.value !== 'string') return fail(ctx, field, 'a string of ssh arguments');
  const parsed = parseSshArgs(field.value);
  if (parsed.ok) return parsed.value;
  return fail(ctx, field, parsed.expected, parsed.got ?? describeValue(field.value), parsed.hint);
}

function checkJump(field: Field, ctx: CheckContext): Checked<JumpValue> {
  const v = field.value;
  if (typeof v !== 'string' || v.trim() === '') return fail(ctx, field, 'a jump host as [user@]host[:port] or an inventory host name');
  const parsed = parseDestination(v);
  if (!parsed.ok) return fail(ctx, field, parsed.expected, undefined, parsed.hint);
  return { text: v.trim(), dest: parsed.value };
}

function checkBoolean(field: Field, ctx: CheckContext): Checked<boolean> {
  if (typeof field.value === 'boolean') return field.value;
  const text = typeof field.value === 'string' ? field.value.toLowerCase() : '';
  const truth = ['yes', 'on', 'true', 'y'].includes(text);
  const hint = ['true', 'false'].includes(text)
    ? `write ${truth} without quotes`
    : ['yes', 'no', 'on', 'off', 'y', 'n'].includes(text)
      ? `YAML 1.2 reads ${text} as text; write ${truth}`
      : undefined;
  return fail(ctx, field, 'true or false', undefined, hint);
}

function checkNonEmptyString(field: Field, ctx: CheckContext, expected: string): Checked<string> {
  if (typeof field.value === 'string' && field.value.trim() !== '') return field.value;
  return fail(ctx, field, expected);
}

function checkNumber(field: Field, ctx: CheckContext, expected: string, accept: (n: number) => boolean): Checked<number> {
  const v = field.value;
  if (typeof v === 'number' && Number.isFinite(v) && accept(v)) return v;
  return fail(ctx, field, expected, undefined, typeof v === 'string' && v.trim() !== '' && accept(Number(v)) ? quoteHint(field) : undefined);
}

function checkInteger(field: Field, ctx: CheckContext): Checked<number> {
  const v = field.value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?[0-9]+$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isInteger(n) ? n : fail(ctx, field, 'an integer');
}

function checkDockerSocket(field: Field, ctx: CheckContext): Checked<string> {
  const v = field.value;
  const expected = 'an absolute unix socket path';
  if (typeof v !== 'string') return fail(ctx, field, expected);
  const path = v.startsWith('unix://') ? v.slice('unix://'.length) : v;
  if (path.startsWith('/') && !/\s/.test(path)) return path;
  const hint = /^[a-z]+:\/\//.test(v) ? 'gauntlet reaches the engine through its unix socket on the host' : undefined;
  return fail(ctx, field, expected, undefined, hint);
}

/** Label names and values are plain text; `gpu=a100` in a list is the pair gpu → a100. */
function checkLabels(field: Field, ctx: CheckContext): Checked<Record<string, string>> {
  const labels: Record<string, string> = {};
  let ok = true;
  const checkName = (name: string, item: Field): boolean => {
    if (name !== '' && !/\s/.test(name)) return true;
    fail(ctx, item, 'a label name without spaces');
    return false;
  };
  if (isMap(field.node)) {
    for (const item of listChildFields(field, ctx)) {
      const name = String(item.path[item.path.length - 1]);
      const v = item.value;
      if (!checkName(name, { ...item, pos: item.keyPos, value: name })) ok = false;
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') labels[name] = String(v);
      else {
        fail(ctx, item, 'a label value (text, a number or true/false)', undefined, v === null ? `write ${name}: "true", or list bare labels` : undefined);
        ok = false;
      }
    }
  } else if (isSeq(field.node)) {
    for (const item of listChildFields(field, ctx)) {
      if (typeof item.value !== 'string') {
        fail(ctx, item, 'a label name', undefined, item.value !== null && typeof item.value === 'object' ? 'in a list write gpu=a100, or make gauntlet_labels a mapping' : undefined);
        ok = false;
        continue;
      }
      const eq = item.value.indexOf('=');
      const name = eq < 0 ? item.value.trim() : item.value.slice(0, eq).trim();
      if (!checkName(name, item)) ok = false;
      else labels[name] = eq < 0 ? 'true' : item.value.slice(eq + 1).trim();
    }
  } else {
    return fail(ctx, field, 'a mapping of labels or a list of label names');
  }
  return ok ? labels : INVALID;
}

const CONSOLE_KINDS = ['file', 'netconsole', 'command', 'qemu'] as const;
type ConsoleKind = (typeof CONSOLE_KINDS)[number];
const CONSOLE_KEYS: Record<ConsoleKind, { required: string; optional: string[] }> = {
  file: { required: 'path', optional: [] },
  qemu: { required: 'path', optional: [] },
  command: { required: 'command', optional: [] },
  netconsole: { required: 'port', optional: ['bind', 'configure'] },
};
const CONSOLE_FORMS = 'file:PATH, netconsole:PORT, command:CMD or qemu:PATH';

function isConsoleKind(text: unknown): text is ConsoleKind {
  return typeof text === 'string' && (CONSOLE_KINDS as readonly string[]).includes(text);
}

function checkConsole(field: Field, ctx: CheckContext): Checked<ConsoleSpec> {
  if (typeof field.value === 'string') return checkConsoleText(field, ctx, field.value);
  if (isMap(field.node)) return checkConsoleMap(field, ctx);
  return fail(ctx, field, `a console as ${CONSOLE_FORMS}, or a mapping with kind`);
}

function checkConsoleText(field: Field, ctx: CheckContext, text: string): Checked<ConsoleSpec> {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1).trim();
  if (!isConsoleKind(kind)) return fail(ctx, field, `a console as ${CONSOLE_FORMS}`, undefined, suggestName(kind, CONSOLE_KINDS));
  const part = { ...field, value: rest };
  return buildConsole(kind, ctx, {
    path: () => checkPath(part, ctx, `a ${kind} console as ${kind}:PATH`),
    command: () => checkNonEmptyString(part, ctx, 'a console as command:CMD'),
    port: () => (rest === '' ? fail(ctx, field, 'a console as netconsole:PORT') : checkPort(part, ctx)),
  });
}

function checkConsoleMap(field: Field, ctx: CheckContext): Checked<ConsoleSpec> {
  const items = new Map(listChildFields(field, ctx).map((f) => [String(f.path[f.path.length - 1]), f]));
  const kindField = items.get('kind');
  if (kindField === undefined) return fail(ctx, field, `a console mapping with kind (${CONSOLE_KINDS.join(', ')})`, 'a mapping without kind');
  if (!isConsoleKind(kindField.value)) {
    const hint = typeof kindField.value === 'string' ? suggestName(kindField.value, CONSOLE_KINDS) : undefined;
    return fail(ctx, kindField, `a console kind (${CONSOLE_KINDS.join(', ')})`, undefined, hint);
  }
  const kind = kindField.value;
  const allowed = ['kind', CONSOLE_KEYS[kind].required, ...CONSOLE_KEYS[kind].optional];
  let ok = true;
  for (const [name, item] of items) {
    if (allowed.includes(name)) continue;
    fail(ctx, { ...item, pos: item.keyPos }, `a key of a ${kind} console (${allowed.join(', ')})`, JSON.stringify(name), suggestName(name, allowed));
    ok = false;
  }
  const required = CONSOLE_KEYS[kind].required;
  const requiredField = items.get(required);
  if (requiredField === undefined) return fail(ctx, field, `a ${kind} console with ${required}`, `a mapping without ${required}`);
  const spec = buildConsole(kind, ctx, {
    path: () => checkPath(requiredField, ctx, 'a path'),
    command: () => checkNonEmptyString(requiredField, ctx, 'a command'),
    port: () => checkPort(requiredField, ctx),
  });
  if (spec === INVALID || spec.kind !== 'netconsole') return ok ? spec : INVALID;
  const bind = items.get('bind');
  if (bind !== undefined) {
    const address = checkAddress(bind, ctx);
    if (address === INVALID) ok = false;
    else spec.bind = address;
  }
  const configure = items.get('configure');
  if (configure !== undefined) {
    const flag = checkBoolean(configure, ctx);
    if (flag === INVALID) ok = false;
    else spec.configure = flag;
  }
  return ok ? spec : INVALID;
}

function buildConsole(
  kind: ConsoleKind,
  ctx: CheckContext,
  read: { path: () => Checked<string>; command: () => Checked<string>; port: () => Checked<number> },
): Checked<ConsoleSpec> {
  switch (kind) {
    case 'file':
    case 'qemu': {
      const path = read.path();
      return path === INVALID ? INVALID : { kind, path };
    }
    case 'command': {
      const command = read.command();
      return command === INVALID ? INVALID : { kind, command };
    }
    case 'netconsole': {
      const port = read.port();
      return port === INVALID ? INVALID : { kind, port };
    }
  }
}

/** The entries of a mapping value or the items of a list value, as fields with their own positions. */
function listChildFields(field: Field, ctx: CheckContext): Field[] {
  const { src, problems } = ctx;
  if (isMap(field.node)) {
    return listEntries(src, field.node, field.path, problems, 'key').map((e) => ({
      value: readNodeValue(src, e.valueNode),
      node: e.valueNode,
      pos: e.valuePos,
      keyPos: e.keyPos,
      path: [...field.path, e.name],
    }));
  }
  if (isSeq(field.node)) {
    return field.node.items.map((raw, index) => {
      const node = resolveNode(src, raw);
      const pos = locateNode(src, node, field.pos);
      return { value: readNodeValue(src, node), node, pos, keyPos: pos, path: [...field.path, index] };
    });
  }
  return [];
}

// ---- The table ------------------------------------------------------------------------------------

/** Variables gauntlet reads. Old `ansible_ssh_*` spellings are aliases, as in Ansible. */
export const READ_VARIABLES: Record<string, VariableRule> = {
  ansible_host: { check: checkAddress },
  ansible_ssh_host: { check: checkAddress },
  ansible_port: { check: (f, c) => checkPort(f, c) },
  ansible_ssh_port: { check: (f, c) => checkPort(f, c) },
  ansible_user: { check: checkUser },
  ansible_ssh_user: { check: checkUser },
  ansible_ssh_private_key_file: { check: checkKeyFile },
  ansible_private_key_file: { check: checkKeyFile },
  ansible_connection: { check: checkConnection },
  ansible_ssh_args: { check: checkSshArgs },
  ansible_ssh_common_args: { check: checkSshArgs },
  ansible_ssh_extra_args: { check: checkSshArgs },
  ansible_group_priority: { check: checkInteger },
  gauntlet_jump: { check: checkJump },
  gauntlet_known_hosts: { check: (f, c) => checkPath(f, c, 'a known_hosts file path') },
  gauntlet_labels: { check: checkLabels },
  gauntlet_disposable: { check: checkBoolean },
  gauntlet_console: { check: checkConsole },
  gauntlet_power_cycle: { check: (f, c) => checkNonEmptyString(f, c, 'a command to run on the runner') },
  gauntlet_connect_timeout: { check: (f, c) => checkNumber(f, c, 'a number of seconds > 0', (n) => n > 0) },
  gauntlet_keepalive_interval: { check: (f, c) => checkNumber(f, c, 'a number of seconds >= 0', (n) => n >= 0) },
  gauntlet_keepalive_count_max: { check: (f, c) => checkNumber(f, c, 'an integer >= 1', (n) => Number.isInteger(n) && n >= 1) },
  // Independent of each other: heartbeats never overlap, so the timeout bounds one heartbeat and the interval spaces them.
  gauntlet_heartbeat_interval: { check: (f, c) => checkNumber(f, c, 'a number of seconds > 0', (n) => n > 0) },
  gauntlet_heartbeat_timeout: { check: (f, c) => checkNumber(f, c, 'a number of seconds > 0', (n) => n > 0) },
  gauntlet_docker_socket: { check: checkDockerSocket },
  gauntlet_kernel_config: { check: (f, c) => checkPath(f, c, 'a kernel config file path on the runner') },
};

/** Passwords are refused outright; their values are never shown. */
export const SECRET_VARIABLES = new Set([
  'ansible_password',
  'ansible_ssh_pass',
  'ansible_ssh_password',
  'ansible_become_password',
  'ansible_become_pass',
  'ansible_sudo_pass',
  'ansible_sudo_password',
  'ansible_su_pass',
  'ansible_su_password',
  'ansible_ssh_private_key_passphrase',
  'ansible_paramiko_pass',
  'ansible_paramiko_password',
]);

/** Real Ansible variables gauntlet has no use for: accepted, kept in `vars`, otherwise ignored. */
export const IGNORED_ANSIBLE_VARIABLES = new Set([
  'ansible_python_interpreter',
  'ansible_python',
  'ansible_become',
  'ansible_become_user',
  'ansible_become_method',
  'ansible_become_exe',
  'ansible_become_flags',
  'ansible_shell_type',
  'ansible_shell_executable',
  'ansible_ssh_pipelining',
  'ansible_pipelining',
  'ansible_ssh_executable',
  'ansible_timeout',
  'ansible_ssh_timeout',
  'ansible_ssh_retries',
  'ansible_network_os',
  'ansible_sftp_extra_args',
  'ansible_scp_extra_args',
  'ansible_ssh_transfer_method',
  'ansible_scp_if_ssh',
  'ansible_sftp_batch_mode',
  'ansible_host_key_checking',
  'ansible_ssh_host_key_checking',
  'ansible_ssh_use_tty',
  'ansible_ssh_control_path',
  'ansible_control_path',
  'ansible_control_path_dir',
  'ansible_remote_tmp',
  'ansible_module_compression',
  'ansible_command_timeout',
  'ansible_connect_timeout',
  'ansible_persistent_connect_timeout',
  'ansible_persistent_command_timeout',
  'ansible_network_cli_ssh_type',
  'ansible_async_dir',
]);

/** Variables of other Ansible connection plugins; harmless to carry, never used. */
const IGNORED_ANSIBLE_PREFIXES = ['ansible_winrm_', 'ansible_psrp_', 'ansible_httpapi_', 'ansible_netconf_', 'ansible_docker_', 'ansible_libssh_', 'ansible_paramiko_'];

const KNOWN_ANSIBLE_NAMES = [
  ...Object.keys(READ_VARIABLES).filter((n) => n.startsWith('ansible_')),
  ...IGNORED_ANSIBLE_VARIABLES,
  ...SECRET_VARIABLES,
];
const GAUNTLET_NAMES = Object.keys(READ_VARIABLES).filter((n) => n.startsWith('gauntlet_'));

/** A variable after its check: `value` is the normalised value, INVALID, or the raw value when unread. */
export interface CheckedVariable {
  name: string;
  raw: unknown;
  value: unknown;
  field: Field;
}

/** Finds `{{ … }}`, `{% … %}` or an Ansible Vault blob anywhere in a value. */
function findUnusableText(value: unknown): 'template' | 'vault' | undefined {
  if (typeof value === 'string') {
    if (value.startsWith('$ANSIBLE_VAULT;')) return 'vault';
    return /\{\{|\{%/.test(value) ? 'template' : undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value as Record<string, unknown>)) {
      const found = findUnusableText(item);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Checks one variable where it is written (once, however many hosts inherit it). */
export function checkVariable(field: Field, ctx: CheckContext): CheckedVariable {
  const name = String(field.path[field.path.length - 1]);
  const result = (value: unknown): CheckedVariable => ({ name, raw: field.value, value, field });
  const atKey = { ...field, pos: field.keyPos };
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    return result(fail(ctx, atKey, 'a variable name of letters, digits and _', JSON.stringify(name)));
  }
  if (SECRET_VARIABLES.has(name)) {
    return { ...result(fail(ctx, field, 'no password (use a key file or ssh-agent)', REDACTED)), raw: REDACTED };
  }
  const rule = READ_VARIABLES[name];
  if (rule !== undefined) {
    const unusable = field.node?.tag === '!vault' ? 'vault' : findUnusableText(field.value);
    if (unusable === 'vault') return result(fail(ctx, field, 'a plain value (gauntlet cannot decrypt Ansible Vault)', '<vault-encrypted>'));
    if (unusable === 'template') return result(fail(ctx, field, 'a plain value (gauntlet does not evaluate Jinja templates)'));
    return result(rule.check(field, ctx));
  }
  if (name.startsWith('ansible_')) {
    if (IGNORED_ANSIBLE_VARIABLES.has(name) || IGNORED_ANSIBLE_PREFIXES.some((p) => name.startsWith(p))) return result(field.value);
    return result(fail(ctx, atKey, 'a known Ansible variable', JSON.stringify(name), suggestName(name, KNOWN_ANSIBLE_NAMES)));
  }
  if (name.startsWith('gauntlet_')) {
    const hint = suggestName(name, GAUNTLET_NAMES) ?? `gauntlet reads ${GAUNTLET_NAMES.join(', ')}`;
    return result(fail(ctx, atKey, 'a known gauntlet_ variable', JSON.stringify(name), hint));
  }
  return result(field.value);
}
