// `gauntlet lab`: boot disposable QEMU hosts with real Debian kernels, list, power-cycle, stop and reach them.

import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
// Types only: the lab module itself is loaded when a lab command runs.
import type { VmMatrix, VmSpec } from '../../lab/index.js';

type LabModule = typeof import('../../lab/index.js');
import Table from 'cli-table3';
import { GauntletError } from '../../model/index.js';
import { EXIT } from '../errors.js';

interface LocationOptions {
  cache?: string;
  state?: string;
}

interface UpCliOptions extends LocationOptions {
  file?: string;
  kernel: string[];
  name?: string;
  fs: string;
  driver?: string;
  engine: string;
  mem: string;
  count: string;
  netconsole?: string;
  accel: string;
  inventory: string;
}

/** Options that shape the VMs; a lab file replaces all of them. */
const VM_OPTIONS = ['kernel', 'name', 'fs', 'driver', 'engine', 'mem', 'count', 'netconsole'] as const;
const DEFAULT_LAB_FILE = 'lab.yaml';

const ACCELS = ['auto', 'kvm', 'tcg'] as const;
/** Kept here so `--help` needs no lab module; vm-plan.ts holds the range. */
const MEM_DEFAULT_MIB = 768;

function addLocationOptions(command: Command): Command {
  return command
    .option('--cache <dir>', 'image, kernel and key cache (default $GAUNTLET_LAB_CACHE or ~/.cache/gauntlet/lab)')
    .option('--state <dir>', 'where running VMs keep their disks and state (default <cache>/vms)');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

function writeLine(line: string): void {
  process.stdout.write(`lab: ${line}\n`);
}

/** Quotes a word for /bin/sh. */
function quoteShell(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function registerLabCommand(program: Command): void {
  const lab = program
    .command('lab')
    .description('Boot disposable QEMU hosts with real Debian kernels and docker, and write an inventory for them.');
  lab.addHelpText('after', '\nExample: gauntlet lab up --kernel 6.1.0-56-amd64 --kernel 6.12.117+deb12-amd64 && gauntlet facts -i lab.hosts.yaml');

  const up = lab
    .command('up')
    .description('Build (or reuse) the image and kernels, boot the VMs in parallel, and write lab.hosts.yaml. The VMs come from the options, or from the lab: section of a lab file (./lab.yaml is read when no VM option is given).')
    .option('-f, --file <lab.yaml>', 'a lab file whose lab: section describes a matrix of VMs')
    .option('-k, --kernel <release>', 'a Debian kernel release (uname -r), repeatable; default: 6.1.0-56-amd64 and 6.12.117+deb12-amd64', collect, [])
    .option('-n, --name <name>', 'VM name (one VM) or name prefix; default "lab"')
    .option('--fs <fs>', 'filesystem of the engine\'s data disk: ext4, xfs or btrfs', 'ext4')
    .option('--driver <driver>', 'storage driver: overlay2, btrfs or vfs (default: btrfs on btrfs, else overlay2)')
    .option('--engine <engine>', 'container engine: docker or podman', 'docker')
    .option('--mem <MiB>', 'guest memory per VM', String(MEM_DEFAULT_MIB))
    .option('--count <K>', 'VMs per kernel', '1')
    .option('--netconsole <port>', "send each VM's kernel messages by netconsole to this UDP port on 127.0.0.1 (+1 per further VM)")
    .option('--accel <accel>', 'auto (KVM when it works, else TCG), kvm or tcg', 'auto')
    .option('-i, --inventory <file>', 'the inventory to write', 'lab.hosts.yaml');
  addLocationOptions(up);
  up.action(async (options: UpCliOptions, command: Command) => {
    const given = VM_OPTIONS.filter((name) => command.getOptionValueSource(name) === 'cli');
    const lab = await import('../../lab/index.js');
    let file = options.file;
    if (file === undefined && given.length === 0 && (await isFile(DEFAULT_LAB_FILE))) file = DEFAULT_LAB_FILE;
    if (file !== undefined && given.length > 0) {
      throw new GauntletError('USAGE', `lab: expected either a lab file or VM options, got ${file} and --${given.join(', --')}`);
    }
    let accel = options.accel;
    let vms: VmSpec[];
    if (file !== undefined) {
      const labFile = await lab.loadLabFile(file);
      vms = labFile.vms;
      writeLine(`${vms.length} VM${vms.length === 1 ? '' : 's'} from the lab: section of ${file}`);
      if (labFile.accel && command.getOptionValueSource('accel') !== 'cli') accel = labFile.accel;
    } else {
      vms = lab.expandVmMatrices([readVmOptions(options, lab.checkVmSetting)], options.netconsole === undefined ? undefined : Number(options.netconsole));
    }
    if (!(ACCELS as readonly string[]).includes(accel)) throw new GauntletError('USAGE', `lab: --accel: expected one of ${ACCELS.join(', ')}, got ${JSON.stringify(accel)}`);
    const cli = resolve(process.argv[1] ?? 'gauntlet');
    const result = await lab.upLab({
      vms,
      accel: accel as (typeof ACCELS)[number],
      inventory: resolve(options.inventory),
      cache: options.cache,
      state: options.state,
      log: writeLine,
      powerCycleCommand: (name, paths) =>
        [process.execPath, cli, 'lab', 'power-cycle', name, '--cache', paths.cache, '--state', paths.vms].map(quoteShell).join(' '),
    });
    const table = newTable(['VM', 'KERNEL', 'STACK', 'PORT', 'BOOT→SSH', 'BOOT→ENGINE', 'RESULT']);
    for (const vm of result.vms) {
      const spec = vms.find((candidate) => candidate.name === vm.name)!;
      table.push([
        vm.name,
        vm.kernel,
        `${spec.engine} ${spec.driver} on ${spec.fs}`,
        String(vm.port),
        seconds(vm.sshMs),
        seconds(vm.engineMs),
        vm.error ? 'failed (see above)' : `${vm.engine} ${vm.engineVersion}`,
      ]);
    }
    const ok = result.vms.filter((vm) => !vm.error).length;
    process.stdout.write(`${table.toString()}\n\n${ok}/${result.vms.length} VMs ready · inventory ${result.inventory}\n`);
    process.exitCode = ok === result.vms.length ? EXIT.OK : EXIT.FAILED;
  });

  const status = lab.command('status').description('List lab VMs: kernel, port, state, uptime, PID.').option('--json', 'print JSON');
  addLocationOptions(status);
  status.action(async (options: LocationOptions & { json?: boolean }) => {
    const { describeLab } = await import('../../lab/index.js');
    const vms = await describeLab(options);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(vms, null, 2)}\n`);
      return;
    }
    const table = newTable(['VM', 'KERNEL', 'STACK', 'PORT', 'STATE', 'UPTIME', 'PID', 'BOOTS', 'ACCEL']);
    for (const vm of vms) {
      table.push([vm.name, vm.kernel, `${vm.engine} ${vm.driver} on ${vm.fs}`, String(vm.port), vm.running ? 'running' : 'stopped', vm.uptimeS === undefined ? '-' : formatUptime(vm.uptimeS), String(vm.pid), String(vm.bootCount), vm.accel]);
    }
    process.stdout.write(vms.length === 0 ? 'no lab VMs\n' : `${table.toString()}\n`);
  });

  const down = lab.command('down').description('Stop lab VMs (all, or those named), remove their overlays and data disks, free their ports.').argument('[names...]', 'VM names');
  addLocationOptions(down);
  down.action(async (names: string[], options: LocationOptions) => {
    const { downLab } = await import('../../lab/index.js');
    const stopped = await downLab({ ...options, names, log: writeLine });
    if (stopped.length === 0) writeLine('no lab VMs');
  });

  const cycle = lab
    .command('power-cycle')
    .description('Hard-restart a VM: kill its QEMU and start it again on the same overlay, keeping ramoops (pstore) across.')
    .argument('<name>', 'VM name')
    .option('--no-wait', 'return once QEMU runs, without waiting for SSH');
  addLocationOptions(cycle);
  cycle.action(async (name: string, options: LocationOptions & { wait: boolean }) => {
    const { powerCycleVm } = await import('../../lab/index.js');
    await powerCycleVm({ ...options, name, wait: options.wait, log: writeLine });
  });

  const clean = lab.command('clean').description('lab down for every VM, then remove the cached image, kernels, packages and keys.');
  addLocationOptions(clean);
  clean.action(async (options: LocationOptions) => {
    const { cleanLab } = await import('../../lab/index.js');
    await cleanLab({ ...options, log: writeLine });
  });

  const ssh = lab
    .command('ssh')
    .description('Open a shell on a VM (or run a command) with the lab key and pinned host key.')
    .argument('<name>', 'VM name')
    .argument('[command...]', 'command to run instead of a shell')
    .passThroughOptions();
  addLocationOptions(ssh);
  ssh.action(async (name: string, command: string[], options: LocationOptions) => {
    const { buildVmSshArgs } = await import('../../lab/index.js');
    const { args } = await buildVmSshArgs({ ...options, name });
    if (command[0] === '--') command = command.slice(1);
    const code = await new Promise<number>((done) => {
      const child = spawn('ssh', [...(process.stdin.isTTY && command.length === 0 ? ['-t'] : []), ...args, ...(command.length > 0 ? [command.join(' ')] : [])], { stdio: 'inherit' });
      child.on('error', (err) => {
        process.stderr.write(`gauntlet: lab: cannot run ssh: ${err.message}\n`);
        done(EXIT.FAILED);
      });
      child.on('exit', (exitCode, signal) => done(exitCode ?? (signal ? 128 + 15 : EXIT.FAILED)));
    });
    process.exitCode = code;
  });
}

/** The VM matrix the command-line options describe; each bad value is a USAGE error naming its option. */
function readVmOptions(options: UpCliOptions, check: LabModule['checkVmSetting']): VmMatrix {
  const integer = (text: string) => (/^\d+$/.test(text) ? Number(text) : text);
  // Each option is named after the setting it gives, so `--fs` reports a bad `fs`.
  type Setting = [Parameters<typeof check>[0], unknown];
  const settings: Setting[] = [
    ...options.kernel.map((kernel): Setting => ['kernel', kernel]),
    ['fs', options.fs],
    ['engine', options.engine],
    ['mem', integer(options.mem)],
    ['count', integer(options.count)],
  ];
  if (options.driver !== undefined) settings.push(['driver', options.driver]);
  if (options.name !== undefined) settings.push(['name', options.name]);
  if (options.netconsole !== undefined) settings.push(['netconsole', integer(options.netconsole)]);
  for (const [setting, value] of settings) {
    const problem = check(setting, value);
    if (problem) throw new GauntletError('USAGE', `lab: --${setting}: expected ${problem.expected}, got ${problem.got}`);
  }
  return {
    ...(options.name === undefined ? {} : { name: options.name }),
    kernels: options.kernel,
    fs: [options.fs],
    ...(options.driver === undefined ? {} : { drivers: [options.driver] }),
    engines: [options.engine],
    memMiB: Number(options.mem),
    count: Number(options.count),
  };
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isFile(),
    () => false,
  );
}

function newTable(head: string[]): Table.Table {
  return new Table({
    head,
    style: { head: [], border: [], compact: true },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
  });
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

function formatUptime(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
