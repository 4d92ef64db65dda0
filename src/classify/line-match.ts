// Matching a message inside its console line without cutting it out: patterns written for the trimmed message
// (`^Kernel Offset: `) are tried at the message's offset, past its indentation.

const atOffset = new WeakMap<RegExp, RegExp>();
const indented = new WeakMap<RegExp, RegExp>();

const body = (pattern: RegExp): string => (pattern.source.startsWith('^') ? pattern.source.slice(1) : pattern.source);

/** The same pattern, also matching after a line's indentation (`^x` → `^\s*(?:x)`). */
export function allowIndent(pattern: RegExp): RegExp {
  let tolerant = indented.get(pattern);
  if (!tolerant) {
    tolerant = pattern.source.startsWith('^') ? new RegExp(`^\\s*(?:${body(pattern)})`, pattern.flags) : pattern;
    indented.set(pattern, tolerant);
  }
  return tolerant;
}

/**
 * The sticky form of `pattern` that matchesAt uses: set its `lastIndex` to the message's offset and test the line.
 * Callers on a hot path keep it, sparing the lookup per line.
 */
export function stickyAt(pattern: RegExp): RegExp {
  let sticky = atOffset.get(pattern);
  if (!sticky) {
    sticky = new RegExp(`\\s*(?:${body(pattern)})`, `${pattern.flags.replace(/[gy]/g, '')}y`);
    atOffset.set(pattern, sticky);
  }
  return sticky;
}

/** Whether `pattern` (written for a trimmed message) matches the message that starts at `offset` of `line`. */
export function matchesAt(pattern: RegExp, line: string, offset: number): boolean {
  const sticky = stickyAt(pattern);
  sticky.lastIndex = offset;
  return sticky.test(line);
}
