/**
 * What one message between two Node.js processes costs on this machine: a parent and a child
 * process exchange small messages over a unix socket, either one at a time (every message
 * wakes the other process, as each step of a unary task does) or `--batch` at a time in one
 * write (as the batched paths do). Prints wall time per round trip and the CPU time of both
 * processes per one-way message.
 *
 *   npx tsx bench/wake-cost.ts [--messages 20000] [--batch 1,10,100]
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";

const MESSAGE_BYTES = 64;

/** CPU time of this process, µs (user + system). */
function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Child: echoes every byte it reads; on "usage" over IPC, replies with its CPU time. */
async function runChild(path: string): Promise<void> {
  const socket = connect(path);
  socket.setNoDelay(true);
  socket.on("data", (chunk) => socket.write(chunk));
  process.on("message", (message) => {
    if (message === "usage") process.send!(cpuUs());
    if (message === "exit") {
      socket.destroy();
      process.disconnect();
    }
  });
  await once(socket, "connect");
  process.send!("ready");
}

/** Sends `rounds` writes of `batch` messages each, each write after the echo of the previous. */
function exchange(socket: Socket, rounds: number, batch: number): Promise<void> {
  const payload = Buffer.alloc(MESSAGE_BYTES * batch, 7);
  return new Promise((resolve) => {
    let pending = payload.length;
    let left = rounds;
    const onData = (chunk: Buffer) => {
      pending -= chunk.length;
      if (pending > 0) return;
      if (--left === 0) {
        socket.off("data", onData);
        resolve();
        return;
      }
      pending = payload.length;
      socket.write(payload);
    };
    socket.on("data", onData);
    socket.write(payload);
  });
}

function childUsage(child: ReturnType<typeof fork>): Promise<number> {
  const answer = once(child, "message").then(([value]) => value as number);
  child.send("usage");
  return answer;
}

function argValue(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}

async function main(): Promise<void> {
  const messages = Number(argValue("--messages", "20000"));
  const batches = argValue("--batch", "1,10,100").split(",").map(Number);
  const dir = mkdtempSync(join(tmpdir(), "tq-wake-"));
  const path = join(dir, "echo.sock");
  const server = createServer();
  server.listen(path);
  await once(server, "listening");
  const accepted = once(server, "connection");
  const child = fork(new URL(import.meta.url).pathname, ["--child", path], { execArgv: process.execArgv });
  const [socket] = (await accepted) as [Socket];
  socket.setNoDelay(true);
  await once(child, "message");
  try {
    // Warm both sides' JIT before measuring.
    await exchange(socket, 2_000, 1);
    console.log("messages per write | wall µs per round trip | CPU µs per one-way message (both processes)");
    for (const batch of batches) {
      const rounds = Math.max(1, Math.round(messages / batch));
      const childBefore = await childUsage(child);
      const before = cpuUs();
      const started = process.hrtime.bigint();
      await exchange(socket, rounds, batch);
      const wallUs = Number(process.hrtime.bigint() - started) / 1_000;
      const cpu = cpuUs() - before + ((await childUsage(child)) - childBefore);
      const oneWay = rounds * batch * 2;
      console.log(`${String(batch).padStart(18)} | ${(wallUs / rounds).toFixed(1).padStart(22)} | ${(cpu / oneWay).toFixed(2).padStart(10)}`);
    }
  } finally {
    child.send("exit");
    socket.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  await runChild(process.argv[3]!);
} else {
  await main();
}
