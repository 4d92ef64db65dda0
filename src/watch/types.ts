// The watch's public types: what a host watch delivers to its caller (text, liveness, notes) and how it is set up.

import type { HostSpec } from '../model/index.js';
import type { Transport } from '../transport/index.js';

export interface WatchText {
  source: 'kmsg' | 'console';
  /** How it was read: '/dev/kmsg' | 'journalctl' | 'dmesg' | 'file:PATH' | 'netconsole:PORT' | 'command' | 'qemu:PATH' */
  via: string;
  /** Console-style text, whole lines ending in '\n' for kmsg (`[  123.456789] message`); console text as it arrives. */
  text: string;
  /** Date.now() when it was received. */
  atMs: number;
}

export type HeartbeatState = 'ok' | 'stalled' | 'lost' | 'back';

export interface HeartbeatReport {
  state: HeartbeatState;
  atMs: number;
  /** The host's boot id (/proc/sys/kernel/random/boot_id) when known. */
  bootId?: string;
  /** For 'back': whether the boot id differs from the one seen before ('rebooted'). */
  rebooted?: boolean;
  latencyMs?: number;
  error?: string;
}

export interface WatchNote {
  level: 'info' | 'warn';
  message: string;
  atMs: number;
}

export interface HostWatchOptions {
  host: HostSpec;
  /** Opens a NEW connection to the host, separate from the suite's (the runner passes a factory). */
  connect: () => Promise<Transport>;
  /** Default from host.heartbeatIntervalS. */
  heartbeatIntervalMs?: number;
  /** Default from host.heartbeatTimeoutS. */
  heartbeatTimeoutMs?: number;
  onText: (text: WatchText) => void;
  onHeartbeat: (report: HeartbeatReport) => void;
  onNote: (note: WatchNote) => void;
}

export interface HostWatch {
  /**
   * Connects, positions every stream at its current end (old kernel messages are never delivered), starts the
   * heartbeat. Resolves once positioned; never rejects for a missing source (that is a 'warn' note) — rejects only
   * when the watch connection itself cannot be opened.
   */
  start(): Promise<void>;
  /**
   * After the host was lost: keeps polling `connect` (every heartbeatIntervalMs, until `deadlineMs` from now) and
   * resolves true once the host answers again, with streams restarted and a 'back' heartbeat report (rebooted
   * true/false by boot id). Resolves false at the deadline.
   */
  waitUntilBack(deadlineMs: number): Promise<boolean>;
  /** The last boot id seen. */
  readonly bootId: string | undefined;
  /** Stops everything, closes its connection(s), UDP sockets, tails and child processes. Idempotent. */
  stop(): Promise<void>;
}

/** Where a stream source delivers: the host watch turns these into WatchText and WatchNote. */
export interface WatchSink {
  text(via: string, text: string): void;
  note(level: WatchNote['level'], message: string): void;
}

/** A console source on the runner (file tail, UDP listener, command, socket). */
export interface ConsoleSource {
  /** Resolves once positioned at the current end; never rejects (problems are notes). */
  start(): Promise<void>;
  /** Stops reading and releases files, sockets and processes. Idempotent. */
  stop(): Promise<void>;
}
