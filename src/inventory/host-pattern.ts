// Expands an Ansible host key (`web[01:10].lab:2222`, `[fe80::1]:22`) into host names and an optional port.
import { isIPv6 } from 'node:net';

export type HostKey =
  | { ok: true; names: string[]; port?: number }
  | { ok: false; expected: string; hint?: string };

/** Beyond this a range is almost certainly a typo (`[1:100000]`) and would swamp the run. */
const MAX_EXPANDED_HOSTS = 10_000;

/**
 * Ansible's YAML inventory reads `name:port` keys as a host plus `ansible_port`, and numeric or
 * alphabetic ranges in brackets (`db[a:c]`, `web[01:20:2]`) as several hosts, so gauntlet does too.
 */
export function expandHostKey(key: string): HostKey {
  if (isIPv6(key)) return { ok: true, names: [key] };
  let name = key;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(key);
  if (bracketed && isIPv6(bracketed[1]!)) {
    name = bracketed[1]!;
    portText = bracketed[2]!;
  } else {
    // Colons inside [..] belong to ranges; a colon outside them separates the port.
    const masked = key.replace(/\[[^\]]*\]/g, (m) => '_'.repeat(m.length));
    const colon = masked.indexOf(':');
    if (colon >= 0) {
      if (masked.indexOf(':', colon + 1) >= 0) return { ok: false, expected: 'a host name, IP address or name:port' };
      name = key.slice(0, colon);
      portText = key.slice(colon + 1);
    }
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^[0-9]+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) return { ok: false, expected: 'a port 1-65535 after the colon in name:port' };
  }
  const names: string[] = [];
  const error = expandRanges(name, names);
  if (error !== undefined) return { ok: false, ...error };
  if (names.some((n) => n === '' || /\s/.test(n))) return { ok: false, expected: 'a host name without spaces' };
  return port === undefined ? { ok: true, names } : { ok: true, names, port };
}

function expandRanges(pattern: string, out: string[]): { expected: string; hint?: string } | undefined {
  const open = pattern.indexOf('[');
  if (open < 0) {
    if (pattern.includes(']')) return { expected: 'a host name or range like web[01:10]' };
    out.push(pattern);
    return undefined;
  }
  const close = pattern.indexOf(']', open);
  if (close < 0) return { expected: 'a host range closed by ]', hint: 'ranges look like web[01:10]' };
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const values = expandOneRange(pattern.slice(open + 1, close));
  if (!Array.isArray(values)) return values;
  for (const value of values) {
    const tails: string[] = [];
    const error = expandRanges(tail, tails);
    if (error !== undefined) return error;
    for (const t of tails) {
      out.push(`${head}${value}${t}`);
      if (out.length > MAX_EXPANDED_HOSTS) return { expected: `a host range of at most ${MAX_EXPANDED_HOSTS} hosts` };
    }
  }
  return undefined;
}

function expandOneRange(inner: string): string[] | { expected: string; hint?: string } {
  const parts = inner.split(':');
  const bad = { expected: 'a host range like [01:10], [1:20:2] or [a:f]' };
  if (parts.length < 2 || parts.length > 3) return bad;
  const [begText = '', endText = '', stepText = '1'] = parts;
  if (!/^[1-9][0-9]*$/.test(stepText)) return bad;
  const step = Number(stepText);
  const values: string[] = [];
  if (/^[a-zA-Z]$/.test(begText) && /^[a-zA-Z]$/.test(endText)) {
    for (let c = begText.charCodeAt(0); c <= endText.charCodeAt(0); c += step) values.push(String.fromCharCode(c));
  } else if (/^[0-9]*$/.test(begText) && /^[0-9]+$/.test(endText)) {
    const beg = begText === '' ? '0' : begText;
    const width = beg.length > 1 && beg.startsWith('0') ? beg.length : 0;
    const last = Number(endText);
    for (let i = Number(beg); i <= last; i += step) {
      values.push(String(i).padStart(width, '0'));
      if (values.length > MAX_EXPANDED_HOSTS) return { expected: `a host range of at most ${MAX_EXPANDED_HOSTS} hosts` };
    }
  } else {
    return bad;
  }
  return values.length === 0 ? { expected: 'a host range whose start is not after its end' } : values;
}
