// Reads `[user@]host[:port]` destinations and the ProxyJump part of Ansible's ssh argument strings.
import { isIPv6 } from 'node:net';

export interface Destination {
  user?: string;
  address: string;
  port?: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string; got?: string; hint?: string };

const PORT_TEXT = /^[0-9]+$/;

/** `[user@]host[:port]`, `ssh://…`, `[v6addr]:port` or a bare IPv6 address. */
export function parseDestination(text: string): Parsed<Destination> {
  const expected = 'a jump host as [user@]host[:port]';
  let rest = text.trim();
  if (rest.startsWith('ssh://')) rest = rest.slice('ssh://'.length).replace(/\/$/, '');
  if (rest.includes(',')) return { ok: false, expected: 'a single jump host', hint: 'chained jumps (a,b) are not supported; jump through the last hop' };
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user === '' || /[\s@]/.test(user)) return { ok: false, expected };
  }
  let address = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    address = bracketed[1]!;
    portText = bracketed[2];
  } else if (!isIPv6(rest)) {
    const colon = rest.indexOf(':');
    if (colon >= 0) {
      address = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    }
  }
  if (address === '' || /[\s/@[\]]/.test(address) || (address.includes(':') && !isIPv6(address))) return { ok: false, expected };
  const dest: Destination = { address };
  if (user !== undefined) dest.user = user;
  if (portText !== undefined) {
    const port = PORT_TEXT.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) return { ok: false, expected: 'a jump port 1-65535' };
    dest.port = port;
  }
  return { ok: true, value: dest };
}

/** Formats a destination back as `user@host:port` (brackets around IPv6). */
export function formatDestination(dest: Destination): string {
  const host = dest.address.includes(':') ? `[${dest.address}]` : dest.address;
  return `${dest.user === undefined ? '' : `${dest.user}@`}${host}${dest.port === undefined ? '' : `:${dest.port}`}`;
}

/** Splits text into words the way a POSIX shell does for quotes and backslashes; undefined on an open quote. */
export function splitShellWords(text: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) j++;
        word += text[j];
      }
      if (j >= text.length) return undefined;
      inWord = true;
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The jump host set by `-J dest` or `-o ProxyJump=dest` in an ssh argument string: undefined when
 * none is set, null for `ProxyJump=none`. As in ssh, the first setting wins. ProxyCommand cannot be
 * honoured by an ssh2 transport and is an error; its value is never echoed (it may hold a password).
 */
export function parseSshArgs(text: string): Parsed<Destination | null | undefined> {
  const words = splitShellWords(text);
  if (words === undefined) return { ok: false, expected: 'ssh arguments with balanced quotes', got: 'an unterminated quote' };
  let jump: Destination | null | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let option: string | undefined;
    let jumpText: string | undefined;
    if (word === '-o' || word === '-J') {
      const next = words[++i];
      if (next === undefined) return { ok: false, expected: `a value after ${word}`, got: 'the end of the arguments' };
      if (word === '-o') option = next;
      else jumpText = next;
    } else if (word.startsWith('-o')) {
      option = word.slice(2);
    } else if (word.startsWith('-J')) {
      jumpText = word.slice(2);
    }
    if (option !== undefined) {
      const m = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/s.exec(option);
      const key = m?.[1]?.toLowerCase();
      const value = m?.[2]?.trim() ?? '';
      if (key === 'proxyjump') jumpText = value;
      else if (key === 'proxycommand' && value.toLowerCase() !== 'none') {
        const hop = findProxyCommandHop(value);
        return {
          ok: false,
          expected: '-o ProxyJump=[user@]host[:port]',
          got: '-o ProxyCommand (not supported, use ProxyJump)',
          hint: hop === undefined ? 'gauntlet connects with ssh2, which cannot run a proxy command' : `write -o ProxyJump=${hop} or gauntlet_jump: ${hop}`,
        };
      }
    }
    if (jumpText !== undefined && jump === undefined) {
      if (jumpText.toLowerCase() === 'none') {
        jump = null;
        continue;
      }
      const dest = parseDestination(jumpText);
      if (!dest.ok) return { ...dest, got: JSON.stringify(jumpText) };
      jump = dest.value;
    }
  }
  return { ok: true, value: jump };
}

/** ssh options that take an argument, to find the destination in `ssh -W %h:%p [opts] dest`. */
const SSH_OPTIONS_WITH_ARGUMENT = new Set('bcDEeFIiJLlmOopQRSWw'.split(''));

/** For `ssh -W %h:%p user@bastion`, the equivalent ProxyJump destination; otherwise undefined. */
function findProxyCommandHop(command: string): string | undefined {
  const words = splitShellWords(command);
  if (words === undefined || words.length === 0 || !/(^|\/)ssh$/.test(words[0]!) || !words.includes('-W')) return undefined;
  let user: string | undefined;
  let port: number | undefined;
  let target: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (word.startsWith('-') && word.length >= 2) {
      const flag = word[1]!;
      if (!SSH_OPTIONS_WITH_ARGUMENT.has(flag)) continue;
      const arg = word.length > 2 ? word.slice(2) : words[++i];
      if (flag === 'p' && arg !== undefined && PORT_TEXT.test(arg)) port = Number(arg);
      if (flag === 'l') user = arg;
      continue;
    }
    target ??= word;
  }
  if (target === undefined) return undefined;
  const dest = parseDestination(target);
  if (!dest.ok) return undefined;
  return formatDestination({ ...dest.value, ...(user !== undefined && dest.value.user === undefined ? { user } : {}), ...(port !== undefined ? { port } : {}) });
}
