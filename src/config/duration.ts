/**
 * Parses durations from env: a bare number is read in the variable's documented unit,
 * or a suffix picks the unit explicitly ("500ms", "30s", "5m", "2h", "7d").
 */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

export function parseDurationMs(raw: string, bareUnit: Unit): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(raw);
  if (!match) return undefined;
  const unit = (match[2]?.toLowerCase() ?? bareUnit) as Unit;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}
