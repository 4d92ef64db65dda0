// The floor of the facts benchmark: ssh2 connects to every host at once, runs `true`, closes; nothing else.
//
// Plain JavaScript on purpose: hyperfine times it with bare `node`, exactly as it times gauntlet's compiled CLI,
// so neither carries a TypeScript loader's start-up cost.
//
// usage: node bench/ssh2-floor.mjs HOSTFILE KEYFILE KNOWN_HOSTS [USER]
//   HOSTFILE     one address per line (port 22), as parallel-ssh reads it
//   KNOWN_HOSTS  plain OpenSSH known_hosts; a host whose key is not recorded there is refused
// Exit 0 when `true` exited 0 on every host, 1 otherwise (one line per failure on stderr), 2 on bad usage.

import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const READY_TIMEOUT_MS = 20_000;

const [hostFile, keyFile, knownHostsFile, user = 'root'] = process.argv.slice(2);
if (!hostFile || !keyFile || !knownHostsFile) {
  process.stderr.write('usage: node bench/ssh2-floor.mjs HOSTFILE KEYFILE KNOWN_HOSTS [USER]\n');
  process.exit(2);
}

const addresses = readLines(hostFile);
const privateKey = readFileSync(keyFile);
const knownKeys = readKnownHosts(knownHostsFile);

const failures = (await Promise.all(addresses.map((address) => execTrue(address)))).filter((f) => f !== null);
for (const failure of failures) process.stderr.write(`${failure}\n`);
process.exitCode = failures.length === 0 && addresses.length > 0 ? 0 : 1;

/** Non-empty, non-comment lines of a file. */
function readLines(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Plain (unhashed) known_hosts entries: host name → [{ type, blob }]. */
function readKnownHosts(file) {
  const keys = new Map();
  for (const line of readLines(file)) {
    const [names, type, base64] = line.split(/\s+/);
    if (!names || !type || !base64 || names.startsWith('@') || names.startsWith('|')) continue;
    for (const name of names.split(',')) {
      if (!keys.has(name)) keys.set(name, []);
      keys.get(name).push({ type, blob: Buffer.from(base64, 'base64') });
    }
  }
  return keys;
}

/** Connect, exec `true`, close. Resolves null on success, else a one-line reason; never rejects. */
function execTrue(address) {
  const recorded = knownKeys.get(address) ?? [];
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    let settled = false;
    const finish = (reason) => {
      if (settled) return;
      settled = true;
      client.end();
      resolve(reason === null ? null : `${address}: ${reason}`);
    };
    client.on('error', (err) => finish(err.message));
    client.on('close', () => finish('connection closed before `true` finished'));
    client.on('ready', () => {
      client.exec('true', (err, stream) => {
        if (err) {
          finish(`exec: ${err.message}`);
          return;
        }
        let exitCode = null;
        stream.on('exit', (code) => {
          exitCode = code;
        });
        stream.on('close', () => finish(exitCode === 0 ? null : `true exited ${String(exitCode)}`));
        stream.resume();
        stream.stderr.resume();
      });
    });
    if (recorded.length === 0) {
      finish(`no key for ${address} in ${knownHostsFile}`);
      return;
    }
    const types = [...new Set(recorded.map((k) => k.type))];
    client.connect({
      host: address,
      port: 22,
      username: user,
      privateKey,
      readyTimeout: READY_TIMEOUT_MS,
      algorithms: { serverHostKey: { remove: types, prepend: types } },
      hostVerifier: (key) => recorded.some((k) => k.blob.equals(key)),
    });
  });
}
