// Runs a script as a child process of the runtime running the tests, so a
// test on Bun runs it on Bun, on Node 22 on Node 22, and so on.

import { spawn } from "node:child_process";
import process from "node:process";

/** How a script ran. */
export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from start to exit. */
  elapsed: number;
}

/** The command line that runs `script` (a path relative to the repo root). */
export function runtimeCommand(script: string, args: string[] = []): string[] {
  const isDeno = "Deno" in globalThis;
  return isDeno
    ? [process.execPath, "run", "-A", script, ...args]
    : [process.execPath, script, ...args];
}

/**
 * Runs `script` to its end with `stdin` written to it; rejects if it has not
 * exited by itself within `limit` ms (it is killed then).
 */
export function runScript(
  script: string,
  { args = [], stdin = "", limit = 10_000 }: {
    args?: string[];
    stdin?: string;
    limit?: number;
  } = {},
): Promise<ScriptResult> {
  const [program, ...rest] = runtimeCommand(script, args);
  const started = Date.now();
  const child = spawn(program, rest, {
    cwd: new URL("../", import.meta.url).pathname,
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => stdout += chunk);
  child.stderr.on("data", (chunk) => stderr += chunk);
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${script} ${
            args.join(" ")
          } did not exit within ${limit} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, limit);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsed: Date.now() - started });
    });
  });
}
