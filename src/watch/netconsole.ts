// netconsole: a UDP listener on the runner, and the configfs scripts that point a host's netconsole at it.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { quoteShell } from '../transport/index.js';
import type { ConsoleSource, WatchSink } from './types.js';

/** Where the kernel's dynamic netconsole targets live (CONFIG_NETCONSOLE_DYNAMIC). */
export const NETCONSOLE_CONFIGFS = '/sys/kernel/config/netconsole';

/** Receives netconsole datagrams on `bind:port`; each datagram is delivered as it arrives. */
export class NetconsoleListener implements ConsoleSource {
  private socket: Socket | undefined;
  private stopped = false;
  readonly via: string;

  constructor(
    private readonly port: number,
    private readonly bind: string | undefined,
    private readonly sink: WatchSink,
  ) {
    this.via = `netconsole:${port}`;
  }

  start(): Promise<void> {
    const address = this.bind ?? '0.0.0.0';
    return new Promise((resolve) => {
      if (this.stopped) {
        resolve();
        return;
      }
      const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
      this.socket = socket;
      let bound = false;
      socket.on('message', (message) => {
        if (!this.stopped) this.sink.text(this.via, message.toString('utf8'));
      });
      socket.on('error', (err) => {
        if (this.stopped) return;
        this.sink.note(
          'warn',
          bound
            ? `netconsole listener on ${address}:${this.port} failed: ${err.message}`
            : `netconsole listener cannot bind ${address}:${this.port}: ${err.message}${(err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (another program, or another host\'s console, uses this port)' : ''}`,
        );
        socket.close();
        this.socket = undefined;
        resolve();
      });
      socket.bind(this.port, address, () => {
        bound = true;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

export interface NetconsoleTarget {
  /** The target's configfs directory, `/sys/kernel/config/netconsole/gauntlet-…`. */
  dir: string;
  /** The runner's UDP port. */
  port: number;
  /** The runner's address as the host reaches it; without it, the client address of `$SSH_CONNECTION`. */
  remoteIp?: string;
}

/**
 * The script that creates (or rewrites) a netconsole target pointing at the runner. The outgoing device, local
 * address and next hop come from `ip route get`, the next hop's MAC from `ip neigh` (pinging it once if it is not
 * known yet). The netconsole module is loaded and configfs mounted only when the target's parent directory is
 * missing. On success it prints `@gauntlet-netconsole DEV LOCAL_IP REMOTE_IP MAC`; on failure it says why on
 * stderr, exits 1 and leaves no half-made target behind.
 */
export function buildNetconsoleSetupScript(target: NetconsoleTarget): string {
  const dir = quoteShell(target.dir);
  return [
    `d=${dir}`,
    `parent=\${d%/*}`,
    `made=`,
    `fail() { [ -n "$made" ] && rmdir "$d" 2>/dev/null; echo "$*" >&2; exit 1; }`,
    `remote=${target.remoteIp === undefined ? '' : quoteShell(target.remoteIp)}`,
    `if [ -z "$remote" ]; then`,
    `  [ -n "\${SSH_CONNECTION:-}" ] || fail "SSH_CONNECTION is not set, so the runner's address is unknown"`,
    `  remote=\${SSH_CONNECTION%% *}`,
    `fi`,
    `route=$(ip route get "$remote" 2>&1) || fail "ip route get $remote: $route"`,
    `route=$(printf '%s\\n' "$route" | head -n 1)`,
    `field() { printf '%s\\n' "$route" | sed -n "s/.* $1 \\([^ ]*\\).*/\\1/p"; }`,
    `dev=$(field dev); src=$(field src); hop=$(field via)`,
    `[ -n "$dev" ] || fail "no route to $remote: $route"`,
    `[ -n "$hop" ] || hop=$remote`,
    `mac() { ip neigh show "$hop" dev "$dev" 2>/dev/null | sed -n 's/.* lladdr \\([^ ]*\\).*/\\1/p' | head -n 1; }`,
    `m=$(mac)`,
    `if [ -z "$m" ]; then ping -c 1 -W 1 "$hop" >/dev/null 2>&1; m=$(mac); fi`,
    `[ -n "$m" ] || fail "no MAC address for the next hop $hop on $dev (ip neigh)"`,
    `if [ ! -d "$parent" ]; then`,
    `  modprobe netconsole 2>/dev/null`,
    `  grep -qs ' /sys/kernel/config ' /proc/mounts || mount -t configfs configfs /sys/kernel/config 2>/dev/null`,
    `fi`,
    `[ -d "$parent" ] || fail "$parent does not exist: the kernel has no dynamic netconsole (CONFIG_NETCONSOLE_DYNAMIC), or configfs cannot be mounted"`,
    `if [ -d "$d" ]; then echo 0 > "$d/enabled" 2>/dev/null; else mkdir "$d" 2>/dev/null || fail "cannot create $d"; made=1; fi`,
    `put() { err=$( { printf '%s\\n' "$2" > "$d/$1"; } 2>&1 ) || fail "cannot write $2 to $d/$1: \${err##*: }"; }`,
    `put dev_name "$dev"`,
    `[ -z "$src" ] || put local_ip "$src"`,
    `put remote_ip "$remote"`,
    `put remote_port ${target.port}`,
    `put remote_mac "$m"`,
    `put enabled 1`,
    `printf '@gauntlet-netconsole %s %s %s %s\\n' "$dev" "$src" "$remote" "$m"`,
  ].join('\n');
}

/** The script that disables and removes a target made by the setup script; a target that is gone is fine. */
export function buildNetconsoleRemoveScript(dir: string): string {
  const d = quoteShell(dir);
  return `[ -d ${d} ] || exit 0; echo 0 > ${d}/enabled 2>/dev/null; rmdir ${d}`;
}

/** Reads the setup script's success line. */
export function parseNetconsoleSetup(stdout: string): { dev: string; localIp: string; remoteIp: string; mac: string } | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('@gauntlet-netconsole '));
  if (!line) return undefined;
  const [dev = '', localIp = '', remoteIp = '', mac = ''] = line.slice('@gauntlet-netconsole '.length).split(' ');
  return { dev, localIp, remoteIp, mac };
}
