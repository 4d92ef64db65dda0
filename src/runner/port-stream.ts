// A Duplex stream over a MessagePort, so a byte stream opened by the runner (an engine socket) reaches a worker.

import { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';

type PortMessage = { kind: 'data'; chunk: Uint8Array } | { kind: 'end' } | { kind: 'error'; message: string };

/** Wraps one end of a MessageChannel as a Duplex; the other end is bridged by `bridgePortToStream`. */
export function createPortStream(port: MessagePort): Duplex {
  const stream = new Duplex({
    read() {
      port.ref();
    },
    write(chunk: Buffer, _encoding, callback) {
      // Node's HTTP client ends a request with an empty write; relayed late, after an engine that answered and
      // closed, it would fail with EPIPE and fail a request that succeeded. Empty writes carry nothing: drop them.
      if (chunk.length > 0) port.postMessage({ kind: 'data', chunk: new Uint8Array(chunk) } satisfies PortMessage);
      callback();
    },
    final(callback) {
      port.postMessage({ kind: 'end' } satisfies PortMessage);
      callback();
    },
    destroy(err, callback) {
      port.close();
      callback(err);
    },
  });
  port.on('message', (message: PortMessage) => {
    if (message.kind === 'data') stream.push(Buffer.from(message.chunk));
    else if (message.kind === 'end') stream.push(null);
    else stream.destroy(new Error(message.message));
  });
  port.on('close', () => {
    if (!stream.destroyed) stream.push(null);
  });
  return stream;
}

/** Pipes a real stream to a MessagePort and back, until either side ends. */
export function bridgePortToStream(port: MessagePort, stream: Duplex): void {
  stream.on('data', (chunk: Buffer) => port.postMessage({ kind: 'data', chunk: new Uint8Array(chunk) } satisfies PortMessage));
  stream.on('end', () => port.postMessage({ kind: 'end' } satisfies PortMessage));
  stream.on('error', (err: Error) => {
    port.postMessage({ kind: 'error', message: err.message } satisfies PortMessage);
    port.close();
  });
  stream.on('close', () => port.close());
  port.on('message', (message: PortMessage) => {
    if (message.kind === 'data') stream.write(Buffer.from(message.chunk));
    else if (message.kind === 'end') stream.end();
    else stream.destroy(new Error(message.message));
  });
  port.on('close', () => stream.destroy());
}
