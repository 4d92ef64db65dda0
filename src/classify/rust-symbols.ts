// Rust symbol names in kernel stacks (`_RNvMs3_NtCs…_11rust_binder7processNtB5_7Process10update_ref`): read back
// into the paths titles use (`<rust_binder::process::Process>::update_ref`), without crate hashes.

/** A v0 symbol (`_R…`) or a legacy one (`_ZN…17h<hash>E`) as a Rust path; null when the name is neither or is malformed. */
export function demangleRustSymbol(name: string): string | null {
  if (name.startsWith('_R')) return demangleV0(name);
  if (name.startsWith('_ZN') && name.endsWith('E')) return demangleLegacy(name);
  return null;
}

/** Legacy mangling: `_ZN` then length-prefixed segments, the last a `h` + 16 hex digits hash, then `E`. */
function demangleLegacy(name: string): string | null {
  const parts: string[] = [];
  let at = 3;
  while (at < name.length - 1) {
    const digits = /^\d+/.exec(name.slice(at, at + 8));
    if (!digits) return null;
    at += digits[0].length;
    const length = Number(digits[0]);
    if (length === 0 || at + length > name.length - 1) return null;
    parts.push(name.slice(at, at + length));
    at += length;
  }
  if (at !== name.length - 1 || parts.length === 0) return null;
  if (parts.length > 1 && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1]!)) parts.pop();
  const unescaped = parts.map((part) =>
    part
      .replace(/^_\$/, '$')
      .replace(/\$(SP|BP|RF|LT|GT|LP|RP|C|u[0-9a-f]{1,6})\$/g, (_whole, code: string) => LEGACY_ESCAPES[code] ?? String.fromCodePoint(parseInt(code.slice(1), 16)))
      .replace(/\.\./g, '::'),
  );
  return unescaped.join('::');
}

const LEGACY_ESCAPES: Readonly<Record<string, string>> = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };

/** The one-letter basic types of v0 mangling. */
const BASIC_TYPES: Readonly<Record<string, string>> = {
  a: 'i8', b: 'bool', c: 'char', d: 'f64', e: 'str', f: 'f32', h: 'u8', i: 'isize', j: 'usize', l: 'i32', m: 'u32', n: 'i128',
  o: 'u128', s: 'i16', t: 'u16', u: '()', v: '...', x: 'i64', y: 'u64', z: '!', p: '_',
};

class Malformed extends Error {}

/** Reads a v0 symbol (RFC 2603) after its `_R` prefix; back references are offsets into that rest. */
class V0Reader {
  private at = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  symbol(): string {
    if (/^\d/.test(this.text)) this.decimal();
    return this.path(true);
  }

  private peek(): string {
    return this.text.charAt(this.at);
  }

  private next(): string {
    if (this.at >= this.text.length) throw new Malformed();
    return this.text.charAt(this.at++);
  }

  private eat(c: string): boolean {
    if (this.peek() !== c) return false;
    this.at++;
    return true;
  }

  private decimal(): number {
    const m = /^\d+/.exec(this.text.slice(this.at, this.at + 10));
    if (!m) throw new Malformed();
    this.at += m[0].length;
    return Number(m[0]);
  }

  /** `_` is 0, else base-62 digits then `_` are the value plus one. */
  private base62(): number {
    if (this.eat('_')) return 0;
    let value = 0;
    for (let c = this.next(); c !== '_'; c = this.next()) {
      const digit = /[0-9]/.test(c) ? c.charCodeAt(0) - 48 : /[a-z]/.test(c) ? c.charCodeAt(0) - 87 : /[A-Z]/.test(c) ? c.charCodeAt(0) - 29 : -1;
      if (digit < 0) throw new Malformed();
      value = value * 62 + digit;
    }
    return value + 1;
  }

  private disambiguator(): void {
    if (this.eat('s')) this.base62();
  }

  private identifier(): string {
    this.disambiguator();
    const punycode = this.eat('u');
    const length = this.decimal();
    this.eat('_');
    if (this.at + length > this.text.length) throw new Malformed();
    const bytes = this.text.slice(this.at, this.at + length);
    this.at += length;
    return punycode ? `{${bytes}}` : bytes;
  }

  /** Re-reads the path or type a back reference points to, then carries on where it was. */
  private backref<T>(read: () => T): T {
    const target = this.base62();
    if (target >= this.at - 1 || this.depth > 64) throw new Malformed();
    const saved = this.at;
    this.at = target;
    this.depth++;
    try {
      return read();
    } finally {
      this.depth--;
      this.at = saved;
    }
  }

  private path(value: boolean): string {
    const tag = this.next();
    switch (tag) {
      case 'C':
        return this.identifier();
      case 'M': {
        this.disambiguator();
        this.path(false);
        return `<${this.type()}>`;
      }
      case 'X': {
        this.disambiguator();
        this.path(false);
        const self = this.type();
        return `<${self} as ${this.path(false)}>`;
      }
      case 'Y': {
        const self = this.type();
        return `<${self} as ${this.path(false)}>`;
      }
      case 'N': {
        const namespace = this.next();
        const parent = this.path(value);
        const name = this.identifier();
        if (/[A-Z]/.test(namespace)) {
          const kind = namespace === 'C' ? 'closure' : namespace === 'S' ? 'shim' : namespace;
          return `${parent}::{${kind}${name ? `:${name}` : ''}}`;
        }
        return name ? `${parent}::${name}` : parent;
      }
      case 'I': {
        const base = this.path(value);
        const args: string[] = [];
        while (!this.eat('E')) args.push(this.genericArg());
        return `${base}${value ? '::' : ''}<${args.join(', ')}>`;
      }
      case 'B':
        return this.backref(() => this.path(value));
      default:
        throw new Malformed();
    }
  }

  private genericArg(): string {
    if (this.eat('L')) {
      this.base62();
      return "'_";
    }
    if (this.eat('K')) return this.constant();
    return this.type();
  }

  private constant(): string {
    if (this.eat('p')) return '_';
    if (this.peek() === 'B') {
      this.next();
      return this.backref(() => this.constant());
    }
    const type = this.next();
    if (!BASIC_TYPES[type]) throw new Malformed();
    const negative = this.eat('n');
    let hex = '';
    for (let c = this.next(); c !== '_'; c = this.next()) hex += c;
    if (type === 'b') return hex === '1' ? 'true' : 'false';
    const number = hex === '' ? 0n : BigInt(`0x${hex}`);
    return `${negative ? '-' : ''}${number}`;
  }

  private type(): string {
    const tag = this.next();
    const basic = BASIC_TYPES[tag];
    if (basic !== undefined) return basic;
    switch (tag) {
      case 'A': {
        const element = this.type();
        return `[${element}; ${this.constant()}]`;
      }
      case 'S':
        return `[${this.type()}]`;
      case 'T': {
        const items: string[] = [];
        while (!this.eat('E')) items.push(this.type());
        return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
      }
      case 'R':
      case 'Q': {
        if (this.eat('L')) this.base62();
        return `&${tag === 'Q' ? 'mut ' : ''}${this.type()}`;
      }
      case 'P':
        return `*const ${this.type()}`;
      case 'O':
        return `*mut ${this.type()}`;
      case 'F':
        return this.fnSig();
      case 'D': {
        if (this.eat('G')) this.base62();
        const traits: string[] = [];
        while (!this.eat('E')) {
          let trait = this.path(false);
          while (this.eat('p')) {
            const name = this.identifier();
            trait += ` ${name} = ${this.type()}`;
          }
          traits.push(trait);
        }
        if (this.eat('L')) this.base62();
        return `dyn ${traits.join(' + ')}`;
      }
      case 'B':
        return this.backref(() => this.type());
      default:
        this.at--;
        return this.path(false);
    }
  }

  private fnSig(): string {
    if (this.eat('G')) this.base62();
    const unsafe = this.eat('U');
    if (this.eat('K')) {
      if (!this.eat('C')) this.identifier();
    }
    const params: string[] = [];
    while (!this.eat('E')) params.push(this.type());
    const result = this.type();
    return `${unsafe ? 'unsafe ' : ''}fn(${params.join(', ')})${result === '()' ? '' : ` -> ${result}`}`;
  }
}

function demangleV0(name: string): string | null {
  try {
    return new V0Reader(name.slice(2)).symbol();
  } catch {
    return null;
  }
}
