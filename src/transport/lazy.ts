// dockerode built on demand over any byte-stream opener, so commands that never talk to an engine never load it.

import { Agent as HttpAgent } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/** dockerode pulls in gRPC and protobuf (about 150 ms to load); only engine work needs it. */
export function loadDocker(): typeof Docker {
  return require('dockerode') as typeof Docker;
}

/**
 * A dockerode client whose every HTTP connection is a fresh stream from `open` (an SSH channel, a stream relayed
 * from another thread). Node's HTTP client calls socket methods such streams lack; they have no meaning there.
 */
export function createDockerOverStreams(open: () => Promise<Duplex>): Docker {
  const agent = new HttpAgent({ keepAlive: false });
  // http.Agent accepts an asynchronous createConnection through its callback, as docker-modem's own SSH agent does.
  (agent as unknown as { createConnection: unknown }).createConnection = (
    _options: unknown,
    callback: (err: Error | null, stream?: Duplex) => void,
  ): void => {
    open().then(
      (stream) => {
        const socketLike = stream as Duplex & Record<string, unknown>;
        for (const method of ['setNoDelay', 'setKeepAlive', 'setTimeout', 'ref', 'unref']) {
          if (typeof socketLike[method] !== 'function') socketLike[method] = () => socketLike;
        }
        callback(null, stream);
      },
      (err: Error) => callback(err),
    );
  };
  return new (loadDocker())({ protocol: 'http', host: 'docker', port: 80, agent } as Docker.DockerOptions);
}
