// One regular expression that finds any of many literal words fast: the words are merged into a trie, so at each
// position of the text only the words that start with that character are tried.

interface TrieNode {
  children: Map<string, TrieNode>;
  end: boolean;
}

const escapeChar = (ch: string): string => (/[.*+?^${}()|[\]\\/-]/.test(ch) ? `\\${ch}` : ch);

/** The source of a regular expression that matches any of `words` (a shorter word wins over its extensions). */
export function literalAlternation(words: readonly string[]): string {
  const root: TrieNode = { children: new Map(), end: false };
  for (const word of words) {
    let node = root;
    for (const ch of word) {
      let next = node.children.get(ch);
      if (!next) {
        next = { children: new Map(), end: false };
        node.children.set(ch, next);
      }
      node = next;
    }
    node.end = true;
  }
  return emit(root);
}

function emit(node: TrieNode): string {
  // A word that ends here matches already: what could follow it is never needed to find a match.
  const branches = [...node.children].map(([ch, child]) => escapeChar(ch) + (child.end ? '' : emit(child)));
  if (branches.length === 1) return branches[0]!;
  return `(?:${branches.join('|')})`;
}
