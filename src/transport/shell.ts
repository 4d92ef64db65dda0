// POSIX shell quoting for commands gauntlet composes and sends to a host.

/** Quotes one word for a POSIX shell: `it's` → `'it'\''s'`. */
export function quoteShell(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Prefixes a command with exported variables, so they reach it whatever the server's AcceptEnv says. */
export function withEnv(command: string, env: Record<string, string> | undefined): string {
  const entries = Object.entries(env ?? {});
  if (entries.length === 0) return command;
  for (const [name] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`invalid environment variable name: ${JSON.stringify(name)}`);
  }
  const assignments = entries.map(([name, value]) => `${name}=${quoteShell(value)}`).join(' ');
  return `export ${assignments}; ${command}`;
}
