// Reaches every selected host at once; one host's failure is a record, never an exception that loses the others.

import pLimit from 'p-limit';
import { gatherFacts, stackKeyOf } from '../facts/index.js';
import type { HostFactsRecord, HostSpec } from '../model/index.js';
import { createTransport, type SshOptions, type Transport } from '../transport/index.js';

export interface FleetOptions extends SshOptions {
  /** Hosts worked on at once. */
  concurrency?: number;
}

export type Connection = { host: HostSpec; transport: Transport; error: null } | { host: HostSpec; transport: null; error: Error };

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Connects one host; the error is returned, not thrown, with the transport already closed. */
export async function connectHost(host: HostSpec, options: SshOptions = {}): Promise<Connection> {
  const transport = createTransport(host, options);
  try {
    await transport.connect();
    return { host, transport, error: null };
  } catch (err) {
    await transport.close().catch(() => undefined);
    return { host, transport: null, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** Connects, gathers facts and disconnects, for one host. Never rejects. */
export async function collectHostFacts(host: HostSpec, options: SshOptions = {}): Promise<HostFactsRecord> {
  const record: HostFactsRecord = { host: host.name, id: host.id, reachable: false, error: null, stackKey: null, facts: null };
  const connection = await connectHost(host, options);
  if (connection.transport === null) {
    record.error = describeError(connection.error);
    return record;
  }
  record.reachable = true;
  try {
    record.facts = await gatherFacts(connection.transport);
    record.stackKey = stackKeyOf(record.facts);
  } catch (err) {
    record.error = `facts: ${describeError(err)}`;
  } finally {
    await connection.transport.close().catch(() => undefined);
  }
  return record;
}

/** Facts for every host, in the order given, gathered concurrently. */
export async function collectFleetFacts(hosts: HostSpec[], options: FleetOptions = {}): Promise<HostFactsRecord[]> {
  const limit = pLimit(options.concurrency ?? 64);
  return Promise.all(hosts.map((host) => limit(() => collectHostFacts(host, options))));
}
