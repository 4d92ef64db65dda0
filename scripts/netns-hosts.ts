// CLI to bring a netns sshd lab up (left running, for benchmarks and manual tests) or tear it down.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cleanupNetnsLab, createNetnsLab } from '../test/helpers/netns-hosts.js';

const USAGE =
  'usage: netns-hosts up --prefix P --count N --subnet S [--inventory FILE] | netns-hosts down --prefix P';

class UsageError extends Error {}

/** Parse argv into a command; throw UsageError with a one-line reason when it is wrong. */
function parseCommand(argv: string[]):
  | { cmd: 'up'; prefix: string; count: number; subnet: number; inventory?: string }
  | { cmd: 'down'; prefix: string }
  | { cmd: 'help' } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        prefix: { type: 'string' },
        count: { type: 'string' },
        subnet: { type: 'string' },
        inventory: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const { values, positionals } = parsed;
  if (values.help) return { cmd: 'help' };
  if (positionals.length !== 1) throw new UsageError('expected exactly one command: up or down');
  const cmd = positionals[0];
  if (values.prefix === undefined) throw new UsageError('--prefix is required');
  if (!/^[a-z][a-z0-9-]{0,9}$/.test(values.prefix) || values.prefix.endsWith('-')) {
    throw new UsageError('--prefix must be 1-10 chars of lowercase letters, digits and dashes, starting with a letter');
  }
  if (cmd === 'down') {
    for (const extra of ['count', 'subnet', 'inventory'] as const) {
      if (values[extra] !== undefined) throw new UsageError(`--${extra} is only for up`);
    }
    return { cmd, prefix: values.prefix };
  }
  if (cmd !== 'up') throw new UsageError(`unknown command ${JSON.stringify(cmd)}; expected up or down`);
  const count = parseIntOption('count', values.count, 1, 200);
  const subnet = parseIntOption('subnet', values.subnet, 1, 250);
  const inventory = values.inventory === undefined ? undefined : path.resolve(values.inventory);
  return { cmd, prefix: values.prefix, count, subnet, inventory };
}

/** Parse a required integer option within [min, max]. */
function parseIntOption(name: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined) throw new UsageError(`--${name} is required for up`);
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** Run the command; exit 2 on bad arguments, 1 on failure. */
async function runMain(): Promise<void> {
  let command;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`netns-hosts: ${err.message} (${USAGE})\n`);
    process.exit(2);
  }
  if (command.cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('netns-hosts: must run as root (it creates network namespaces)\n');
    process.exit(1);
  }
  try {
    if (command.cmd === 'down') {
      await cleanupNetnsLab(command.prefix);
      process.stdout.write(`${JSON.stringify({ prefix: command.prefix, down: true })}\n`);
      return;
    }
    const started = Date.now();
    const lab = await createNetnsLab({ prefix: command.prefix, count: command.count, subnet: command.subnet });
    const inventory = command.inventory ?? path.join(lab.dir, 'inventory.yaml');
    await lab.writeInventory(inventory);
    const summary = {
      prefix: lab.prefix,
      dir: lab.dir,
      inventory,
      knownHosts: lab.knownHostsPath,
      clientKey: lab.clientKeyPath,
      bridgeAddress: lab.bridgeAddress,
      deadAddress: lab.deadAddress,
      setupMs: Date.now() - started,
      hosts: lab.hosts.map((h) => ({ name: h.name, ns: h.ns, address: h.address, port: h.port, pid: h.pid })),
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } catch (err) {
    process.stderr.write(`netns-hosts: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await runMain();
