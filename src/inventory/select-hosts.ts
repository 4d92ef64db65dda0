// Picks the hosts a run targets from an inventory, with the semantics of Ansible's --limit patterns.
import { isIPv6 } from 'node:net';
import picomatch from 'picomatch';

import { GauntletError, type HostSpec, type Inventory } from '../model/index.js';
import { findCloseNames } from './problems.js';

/**
 * `limit` is a comma- (or, without commas, colon-) separated list of terms: a host or group name, a
 * glob (`web*`), `~regex` (matched from the start of the name, as Ansible does), or a subscript
 * (`web[0]`, `web[1:3]`, end inclusive). `&term` intersects and `!term` excludes; as in Ansible,
 * plain terms are joined first, then intersections, then exclusions, whatever their order. The result
 * keeps inventory file order. Undefined selects every host.
 *
 * Unlike Ansible, which only warns, any term that matches nothing is an error, `!` and `&` terms
 * included: a mistyped `!prod-db1` would otherwise run destructive suites on the host it meant to spare.
 */
export function selectHosts(inv: Inventory, limit: string | undefined): HostSpec[] {
  if (limit === undefined) return [...inv.hosts];
  const terms = splitLimit(limit);
  if (terms.length === 0) throw new GauntletError('USAGE', `limit ${JSON.stringify(limit)} has no host or group pattern`);
  const plain = terms.filter((t) => !t.startsWith('&') && !t.startsWith('!'));
  const intersections = terms.filter((t) => t.startsWith('&')).map((t) => t.slice(1));
  const exclusions = terms.filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  const selected = new Set<string>();
  for (const term of plain.length === 0 ? ['all'] : plain) for (const name of matchTerm(inv, term)) selected.add(name);
  for (const term of intersections) {
    const keep = new Set(matchTerm(inv, term));
    for (const name of [...selected]) if (!keep.has(name)) selected.delete(name);
  }
  for (const term of exclusions) for (const name of matchTerm(inv, term)) selected.delete(name);
  const hosts = inv.hosts.filter((h) => selected.has(h.name));
  if (hosts.length === 0) throw new GauntletError('USAGE', `limit ${JSON.stringify(limit)} selects no hosts`);
  return hosts;
}

/** Commas separate terms; without a comma, colons outside [..] do, unless the whole limit is an IPv6 address. */
function splitLimit(limit: string): string[] {
  const text = limit.trim();
  let parts: string[];
  if (text.includes(',')) parts = text.split(',');
  else if (isIPv6(text)) parts = [text];
  else parts = text.match(/(?:[^:[\]]|\[[^\]]*\])+/g) ?? [];
  return parts.map((p) => p.trim()).filter((p) => p !== '' && p !== '!' && p !== '&');
}

/** Host names matched by one term (without its & or ! prefix), in inventory order; never empty. */
function matchTerm(inv: Inventory, term: string): string[] {
  if (term.startsWith('@')) throw new GauntletError('USAGE', `limit term ${JSON.stringify(term)}: limit files (@file) are not supported; list the hosts`);
  const subscript = /^(.+)\[(?:(-?[0-9]+)|(-?[0-9]*):(-?[0-9]*))\]$/.exec(term);
  const base = subscript ? subscript[1]! : term;
  let names = matchPattern(inv, base);
  const count = names.length;
  if (subscript && count > 0) {
    const at = (text: string | undefined, fallback: number): number => {
      if (text === undefined || text === '') return fallback;
      const n = Number(text);
      return n < 0 ? names.length + n : n;
    };
    if (subscript[2] !== undefined) {
      const index = at(subscript[2], 0);
      names = index >= 0 && index < names.length ? [names[index]!] : [];
    } else {
      names = names.slice(at(subscript[3], 0), at(subscript[4], names.length - 1) + 1);
    }
  }
  if (names.length === 0 && count > 0) {
    throw new GauntletError('USAGE', `limit term ${JSON.stringify(term)} selects no host; ${base} has ${count} (${base}[0] to ${base}[${count - 1}])`);
  }
  if (names.length === 0) throw new GauntletError('USAGE', describeNoMatch(inv, term, base));
  return names;
}

function matchPattern(inv: Inventory, pattern: string): string[] {
  if (pattern === 'all' || pattern === '*') return inv.hosts.map((h) => h.name);
  let test: (name: string) => boolean;
  if (pattern.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${pattern.slice(1)})`);
    } catch (err) {
      throw new GauntletError('USAGE', `limit term ${JSON.stringify(pattern)}: invalid regular expression (${(err as Error).message})`);
    }
    test = (name) => re.test(name);
  } else if (/[*?[]/.test(pattern)) {
    test = picomatch(pattern, { dot: true });
  } else {
    test = (name) => name === pattern;
  }
  const matched = new Set<string>();
  for (const host of inv.hosts) if (test(host.name)) matched.add(host.name);
  for (const [group, members] of Object.entries(inv.groups)) if (test(group)) for (const name of members) matched.add(name);
  return inv.hosts.filter((h) => matched.has(h.name)).map((h) => h.name);
}

function describeNoMatch(inv: Inventory, term: string, base: string): string {
  const names = [...inv.hosts.map((h) => h.name), ...Object.keys(inv.groups)];
  const close = findCloseNames(base.replace(/^~/, ''), names, 5);
  const known = close.length > 0 ? `close names: ${close.join(', ')}` : `groups: ${Object.keys(inv.groups).slice(0, 10).join(', ')}`;
  return `limit term ${JSON.stringify(term)} matches no host or group; ${known}`;
}
