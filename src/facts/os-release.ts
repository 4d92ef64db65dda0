// Parser for os-release(5) files (/etc/os-release, /usr/lib/os-release) into DistroFacts.

import type { DistroFacts } from '../model/index.js';

/**
 * Reads os-release assignments into a map, following the os-release(5) rules: one `KEY=value` per line,
 * `#` comment lines and blank lines ignored, values in shell-style double or single quotes, with `\"`,
 * `\\`, `\$` and `` \` `` escapes inside double quotes and a backslash escaping any character outside
 * quotes. Adjacent quoted and unquoted pieces join (`A="x"'y'z` is `xyz`), as in the shell. Text after
 * unquoted whitespace is ignored. Lines that are not assignments are skipped, not fatal: a host's
 * odd line must not cost the other facts.
 */
export function parseOsReleaseFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    const [, key, rawValue] = match;
    if (key === undefined || rawValue === undefined) continue;
    fields[key] = unquoteShellWord(rawValue);
  }
  return fields;
}

/**
 * Parses an os-release file into DistroFacts. Defaults follow os-release(5): `ID` defaults to `linux`
 * and `PRETTY_NAME` to `Linux`. `versionId` is empty for rolling releases without `VERSION_ID` (Arch),
 * and `codename` is left out when `VERSION_CODENAME` is absent or empty (Fedora ships it empty).
 */
export function parseOsRelease(text: string): DistroFacts {
  const fields = parseOsReleaseFields(text);
  const distro: DistroFacts = {
    id: (fields.ID ?? '').toLowerCase() || 'linux',
    versionId: fields.VERSION_ID ?? '',
    prettyName: fields.PRETTY_NAME || 'Linux',
    idLike: (fields.ID_LIKE ?? '').split(/\s+/).filter((word) => word !== ''),
  };
  if (fields.VERSION_CODENAME) distro.codename = fields.VERSION_CODENAME;
  return distro;
}

/** Undoes shell quoting of one word; stops at the first unquoted whitespace. */
function unquoteShellWord(raw: string): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const ch = raw[i];
    if (ch === undefined || /\s/.test(ch)) break;
    if (ch === '\\') {
      // Outside quotes a backslash escapes the next character (a trailing one is kept literally).
      out += raw[i + 1] ?? '\\';
      i += 2;
    } else if (ch === "'") {
      const end = raw.indexOf("'", i + 1);
      // An unterminated quote runs to the end of the line rather than dropping the value.
      const stop = end === -1 ? raw.length : end;
      out += raw.slice(i + 1, stop);
      i = stop + 1;
    } else if (ch === '"') {
      i += 1;
      while (i < raw.length && raw[i] !== '"') {
        const inner = raw[i];
        const next = raw[i + 1];
        if (inner === '\\' && next !== undefined && '"\\$`'.includes(next)) {
          out += next;
          i += 2;
        } else {
          out += inner;
          i += 1;
        }
      }
      i += 1; // the closing quote
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}
