// Title normalisation: the same bug gets the same title on every run, whatever its addresses, numbers and offsets.

const OFFSET = /\+0x[0-9a-f]+(?:\/0x[0-9a-f]+)?/gi;
const HEX = /\b0x[0-9a-f]+\b/gi;
/** A bare address: 8 to 16 hex digits, at least one of them a digit. */
const BARE_ADDRESS = /\b(?=[0-9a-f]*\d)[0-9a-f]{8,16}\b/gi;
/** A number that stands alone (not part of a name such as e1000_clean or x25_connect). */
const NUMBER = /(?<![\w])\d+(?![\w])/g;
const SPACES = /\s+/g;

/** Drops function offsets, then replaces addresses by ADDR and numbers by NUM, and collapses blanks. */
export function normalizeTitle(text: string): string {
  return normalizeValue(text).trim();
}

function normalizeValue(text: string): string {
  return text.replace(OFFSET, '').replace(HEX, 'ADDR').replace(BARE_ADDRESS, 'ADDR').replace(NUMBER, 'NUM').replace(SPACES, ' ');
}

const PLACEHOLDER = /\{(\w+)\}/g;
/** `{1}`…`{9}`: a group of the header pattern (one ASCII digit). */
const isDigitKey = (key: string): boolean => key.length === 1 && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57;

/**
 * Fills a title template: `{1}`…`{9}` are the header pattern's groups, `{name}` a named value (the guilty frame,
 * a field read from the report's body). Values read from the log are normalised, then replaced by their alias if
 * they have one; the template's own text is not.
 */
export function fillTemplate(
  template: string,
  groups: readonly (string | undefined)[],
  values: Readonly<Record<string, string | undefined>>,
  aliases: Readonly<Record<string, string>> = {},
): string {
  const filled = template.replace(PLACEHOLDER, (_whole, key: string) => {
    const raw = isDigitKey(key) ? groups[Number(key)] : values[key];
    if (raw === undefined) return '';
    const value = normalizeValue(raw);
    return aliases[value] ?? value;
  });
  return filled.replace(SPACES, ' ').trim();
}
