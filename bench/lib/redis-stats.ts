/**
 * Redis command counts (pure, unit-tested): parsing `INFO commandstats` (the server's view,
 * which also counts the commands Lua scripts call) and the difference between two snapshots.
 */
export type CommandCounts = Record<string, number>;

/** `cmdstat_get:calls=12,usec=…` lines → { get: 12 }. Subcommands (`cmdstat_client|setname`) keep their names. */
export function parseCommandStats(info: string): CommandCounts {
  const counts: CommandCounts = {};
  for (const line of info.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

/** after − before per command, dropping zeros and the commands named in `ignore`. */
export function diffCounts(before: CommandCounts, after: CommandCounts, ignore: readonly string[] = []): CommandCounts {
  const diff: CommandCounts = {};
  for (const [name, calls] of Object.entries(after)) {
    if (ignore.includes(name)) continue;
    const delta = calls - (before[name] ?? 0);
    if (delta !== 0) diff[name] = delta;
  }
  return diff;
}

export function totalCount(counts: CommandCounts): number {
  return Object.values(counts).reduce((sum, calls) => sum + calls, 0);
}

/** "evalsha 4.00 · rpush 3.00" per job, largest first. */
export function describePerJob(counts: CommandCounts, jobs: number): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([name, calls]) => `${name} ${(calls / jobs).toFixed(2)}`)
    .join(" · ");
}
