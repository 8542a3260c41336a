/**
 * Loaded into a worker process with `node --import ./bench/lib/redis-counter.preload.ts`: counts,
 * from the client's side, every Redis command the worker sends (by name, pipelined ones
 * included: ioredis routes each through Redis#sendCommand) and every write to a socket connected
 * to the Redis port. With ioredis' auto-pipelining, the commands issued in one tick leave in one
 * write, so writes are the round trips the worker waits on (an upper bound: a fire-and-forget
 * write such as a timeline append is counted though nobody waits for it). The counts are written
 * as JSON to BENCH_REDIS_COUNT_FILE on SIGUSR2 (a snapshot; `seq` tells snapshots apart) and when
 * the process exits.
 */
import { writeFileSync } from "node:fs";
import net from "node:net";
import { Redis } from "ioredis";

const file = process.env.BENCH_REDIS_COUNT_FILE;
const port = Number(new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379").port || 6379);

if (file) {
  const commands: Record<string, number> = {};
  let writes = 0;
  const seen = new WeakSet<object>();

  type SendCommand = (this: Redis, command: { name: string }, ...rest: unknown[]) => unknown;
  const prototype = Redis.prototype as unknown as { sendCommand: SendCommand };
  const originalSend = prototype.sendCommand;
  prototype.sendCommand = function (this: Redis, command: { name: string }, ...rest: unknown[]) {
    // A command queued while offline passes through here again when flushed: count it once.
    if (!seen.has(command)) {
      seen.add(command);
      commands[command.name] = (commands[command.name] ?? 0) + 1;
    }
    return originalSend.call(this, command, ...rest);
  };

  type Write = (this: net.Socket, ...args: unknown[]) => boolean;
  const socketPrototype = net.Socket.prototype as unknown as { write: Write };
  const originalWrite = socketPrototype.write;
  socketPrototype.write = function (this: net.Socket, ...args: unknown[]) {
    if (this.remotePort === port) writes += 1;
    return originalWrite.apply(this, args);
  };

  let seq = 0;
  const dump = () => writeFileSync(file, JSON.stringify({ seq: ++seq, commands, writes }));
  process.on("SIGUSR2", dump);
  process.on("exit", dump);
}
