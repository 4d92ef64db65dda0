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

/** What normalizeValue would change: a digit (offsets, addresses, numbers) or blanks other than single spaces. */
const NEEDS_NORMALIZING = /\d|[^\S ]| {2}/;

function normalizeValue(text: string): string {
  if (!NEEDS_NORMALIZING.test(text)) return text;
  return text.replace(OFFSET, '').replace(HEX, 'ADDR').replace(BARE_ADDRESS, 'ADDR').replace(NUMBER, 'NUM').replace(SPACES, ' ');
}

/** Templates cut at their placeholders (`{1}`, `{frame}`): text at even indexes, the placeholders' keys at odd ones. */
const templateParts = new Map<string, readonly string[]>();
const PLACEHOLDER = /\{(\w+)\}/;

function partsOf(template: string): readonly string[] {
  let parts = templateParts.get(template);
  if (!parts) {
    parts = template.split(PLACEHOLDER);
    templateParts.set(template, parts);
  }
  return parts;
}

/** `{1}`…`{9}`: a group of the header pattern (one ASCII digit). */
const isDigitKey = (key: string): boolean => key.length === 1 && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57;

/**
 * Fills title templates of one report: `{1}`…`{9}` are the header pattern's groups, `{name}` a named value (the
 * guilty frame, a field read from the report's body). Values read from the log are normalised, then replaced by
 * their alias if they have one; the template's own text is not. Each value is normalised once for all templates.
 */
export class TitleFiller {
  private readonly filled = new Map<string, string>();

  constructor(
    private readonly groups: readonly (string | undefined)[],
    private readonly values: Readonly<Record<string, string | undefined>>,
    private readonly aliases: Readonly<Record<string, string>> = {},
  ) {}

  fill(template: string): string {
    const parts = partsOf(template);
    let title = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) title += this.valueOf(parts[i]!) + parts[i + 1]!;
    return title.replace(SPACES, ' ').trim();
  }

  private valueOf(key: string): string {
    let value = this.filled.get(key);
    if (value === undefined) {
      const raw = isDigitKey(key) ? this.groups[Number(key)] : this.values[key];
      const normalized = raw === undefined ? '' : normalizeValue(raw);
      value = raw === undefined ? '' : (this.aliases[normalized] ?? normalized);
      this.filled.set(key, value);
    }
    return value;
  }
}
