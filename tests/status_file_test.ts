// isRunning (cli/_status_file.ts): what the one-writer check and logout ask
// of a pid — a process killed but not yet reaped does not run.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { isRunning } from "../cli/_status_file.ts";
import { spawn } from "node:child_process";

test("isRunning: this process runs; a pid nobody has does not", () => {
  assert.equal(isRunning(process.pid), true);
  assert.equal(isRunning(2 ** 22 + 1), false); // above Linux's pid_max
});

test(
  "isRunning: a process that exited but waits to be reaped does not run",
  { skip: process.platform !== "linux" && "zombies are read from /proc" },
  async () => {
    // The shell starts a child, prints its pid, and becomes a `sleep` that
    // never reaps it. The child is killed only once the shell is gone: a
    // shell still running would reap it itself, and a fast child can exit
    // before the `exec`.
    const parent = spawn("bash", ["-c", "sleep 60 & echo $!; exec sleep 60"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const pid = await new Promise<number>((resolve) =>
        parent.stdout.once("data", (chunk) => resolve(Number(String(chunk))))
      );
      await until(() => command(parent.pid!) === "sleep", "the shell gone");
      process.kill(pid, "SIGKILL");
      await until(() => state(pid) === "Z", `process ${pid} a zombie`);
      assert.equal(isRunning(pid), false);
      assert.equal(isRunning(parent.pid!), true, "its parent runs");
    } finally {
      parent.kill("SIGKILL");
    }
  },
);

/** The command name of `pid` ("bash", "sleep" …). */
function command(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
}

/** The state letter of `pid` in /proc ("R", "S", "Z" …). */
function state(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not ${what} within 10 s`);
}
