// Suite sizes: `--param scale=quick|full|soak` picks a row of a suite's size table, and any single size
// can still be set on its own (`--param containers=50`).

/** `full` (the default) is sized for a qualification run; `quick` for CI (under a minute on a small host); `soak` for hours. */
export const SCALES = ['quick', 'full', 'soak'] as const;
export type Scale = (typeof SCALES)[number];

export type SizeTable<T extends Record<string, number>> = Record<Scale, T>;

/**
 * The sizes for this run: the row `params.scale` names (default `full`), with every size that `params`
 * sets by name replacing the row's. Throws on an unknown scale or a size that is not a non-negative number.
 */
export function sizesFor<T extends Record<string, number>>(params: Record<string, unknown>, table: SizeTable<T>): T & { scale: Scale } {
  const scale = params.scale ?? 'full';
  if (typeof scale !== 'string' || !(SCALES as readonly string[]).includes(scale)) {
    throw new Error(`--param scale: expected one of ${SCALES.join(', ')}, got ${JSON.stringify(scale)}`);
  }
  const row = { ...table[scale as Scale] } as Record<string, number>;
  for (const name of Object.keys(row)) {
    const value = params[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`--param ${name}: expected a non-negative number, got ${JSON.stringify(value)}`);
    }
    row[name] = value;
  }
  return { ...(row as T), scale: scale as Scale };
}

/** A size table's params for `meta({ params })`: each size with its default and the quick and soak values. */
export function describeSizes<T extends Record<string, number>>(
  table: SizeTable<T>,
  descriptions: Record<keyof T, string>,
): Record<string, { default: unknown; description: string }> {
  const described: Record<string, { default: unknown; description: string }> = {
    scale: { default: 'full', description: `size of every load below: ${SCALES.join(', ')} (quick finishes in under a minute on a small host, soak runs for hours)` },
  };
  for (const name of Object.keys(table.full) as (keyof T & string)[]) {
    described[name] = { default: table.full[name], description: `${descriptions[name]} (quick ${table.quick[name]}, soak ${table.soak[name]})` };
  }
  return described;
}

/** A number parameter of its own (not a size): `params[name]`, else `fallback`; throws naming it when it is not a non-negative number. */
export function numberParam(params: Record<string, unknown>, name: string, fallback: number): number {
  const value = params[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`--param ${name}: expected a non-negative number, got ${JSON.stringify(value)}`);
  }
  return value;
}
