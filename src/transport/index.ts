// The transport layer's entry: one Transport per host, chosen by its connection kind.

import type { HostSpec } from '../model/index.js';
import { LocalTransport } from './local.js';
import { SshTransport, type SshOptions } from './ssh.js';
import type { Transport } from './transport.js';

export type { ConnectionState, Transport } from './transport.js';
export { LocalTransport } from './local.js';
export { CommandLostError, SshTransport, type SshOptions } from './ssh.js';
export { quoteShell } from './shell.js';
export { describeErrno, formatSeconds } from './errno.js';
export * from './known-hosts.js';

export function createTransport(host: HostSpec, options: SshOptions = {}): Transport {
  return host.connection === 'local' ? new LocalTransport(host) : new SshTransport(host, options);
}
