// Network errors in words: `connect ETIMEDOUT (connection timed out) after 10 s`.

const ERRNO_WORDS: Record<string, string> = {
  ETIMEDOUT: 'connection timed out',
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  EHOSTDOWN: 'host is down',
  ECONNRESET: 'connection reset by peer',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'broken pipe',
  ENOTFOUND: 'name or service not known',
  EAI_AGAIN: 'temporary failure in name resolution',
  EADDRNOTAVAIL: 'address not available',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
};

/** `ECONNREFUSED (connection refused)`, or the bare code when it has no known wording. */
export function describeErrno(code: string | undefined): string {
  if (!code) return 'unknown error';
  const words = ERRNO_WORDS[code];
  return words ? `${code} (${words})` : code;
}

/** Seconds with one decimal below 10 s, whole seconds above: `0.3 s`, `12 s`. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

export function errnoOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
