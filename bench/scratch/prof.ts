import { readFileSync } from "node:fs";
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] };
const prof = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
// Keep only samples after the given fraction of the profile's time (skips start-up).
const skip = Number(process.argv[3] ?? 0);
{
  for (const n of prof.nodes) n.hitCount = 0;
  let t = prof.startTime; const cut = prof.startTime + (prof.endTime - prof.startTime) * skip;
  prof.samples.forEach((id, i) => { t += prof.timeDeltas[i]!; if (t >= cut) byId.get(id)!.hitCount += 1; });
}
const total = prof.nodes.reduce((s, n) => s + n.hitCount, 0);
const bucket = (url: string) => {
  if (!url) return "(native/vm)";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith("node:")) return url;
  return url.replace("file:///work/main/", "");
};
const self = new Map<string, number>();
const fn = new Map<string, number>();
for (const n of prof.nodes) {
  const b = bucket(n.callFrame.url);
  self.set(b, (self.get(b) ?? 0) + n.hitCount);
  const f = `${n.callFrame.functionName || "(anon)"} ${b}:${n.callFrame.lineNumber}`;
  fn.set(f, (fn.get(f) ?? 0) + n.hitCount);
}
// inclusive per bucket: for each sample, walk up? approximate via parent map
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map<string, number>();
for (const n of prof.nodes) {
  if (!n.hitCount) continue;
  const seen = new Set<string>();
  let cur: number | undefined = n.id;
  while (cur !== undefined) { const node = byId.get(cur)!; const b = bucket(node.callFrame.url); if (!seen.has(b)) { seen.add(b); incl.set(b, (incl.get(b) ?? 0) + n.hitCount); } cur = parent.get(cur); }
}
const wall = (prof.endTime - prof.startTime) / 1000;
const idle = prof.nodes.filter((n) => n.callFrame.functionName === "(idle)").reduce((s, n) => s + n.hitCount, 0);
console.log(`samples ${total}, wall ${wall.toFixed(0)} ms, idle share ${(idle / total * 100).toFixed(1)}%`);
console.log("SELF by module:"); for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${(v / total * 100).toFixed(1)}%  ${k}`);
console.log("INCLUSIVE by module:"); for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${(v / total * 100).toFixed(1)}%  ${k}`);
console.log("SELF by function:"); for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${(v / total * 100).toFixed(1)}%  ${k}`);
