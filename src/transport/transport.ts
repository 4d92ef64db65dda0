// The Transport interface: how any layer above runs commands on a host without knowing ssh2 or execa.

import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { CommandResult, HostSpec, RunOptions } from '../model/index.js';

/** Explicit connection state; transitions are idle → connecting → ready → (lost | closed), or connecting → failed. */
export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'failed' | 'lost' | 'closed';

export interface Transport {
  readonly host: HostSpec;
  readonly state: ConnectionState;
  /** Opens the connection (TCP, handshake, host key check, auth). Rejects with a GauntletError naming the cause. */
  connect(): Promise<void>;
  /**
   * Runs a shell command. Resolves on any exit status, signal or timeout; rejects only when the command
   * could not be started or its channel was lost (GauntletError `LOST_CONNECTION` / `NOT_CONNECTED`).
   */
  run(command: string, options?: RunOptions): Promise<CommandResult>;
  /** Copies a local file or buffer to a path on the host. */
  upload(source: string | Buffer, remotePath: string): Promise<void>;
  /** A raw byte stream to the host's engine socket, over this same connection (for HTTP clients elsewhere). */
  openDockerStream(): Promise<Duplex>;
  /** A dockerode client bound to this host's engine socket, over this same connection. */
  docker(): Docker;
  /** A one-line description of the docker endpoint `docker()` talks to, for facts. */
  dockerEndpoint(): string;
  /** Closes the connection; pending commands reject with `LOST_CONNECTION`. Idempotent. */
  close(): Promise<void>;
  /** Registers a listener for the connection being lost after it was ready (keepalive timeout, reset). */
  onLost(listener: (err: Error) => void): void;
}
