// The standalone fake server (testing/cli.ts) as a person uses it:
// started as a process of the current runtime, driven over HTTP, WebSocket
// and its stdin, stopped with Ctrl-C.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runtimeCommand } from "./_spawn.ts";
import { within as withinMs } from "./_setup.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Longest any single wait may take before the test fails. */
// A safety net, not a claim: a busy machine starts a process slowly.
const WAIT_MS = 30_000;
const within = <T>(promise: Promise<T>, what: string, ms = WAIT_MS) =>
  withinMs(promise, what, ms);

/**
 * The child's stdout as lines. `waitFor` finds the first line after the last
 * one it matched, so successive waits read the output in order.
 */
function lineReader(child: ChildProcess): {
  lines: string[];
  waitFor(pattern: RegExp, what: string): Promise<RegExpMatchArray>;
} {
  const lines: string[] = [];
  let partial = "";
  let from = 0;
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  return {
    lines,
    async waitFor(pattern, what) {
      const search = () => {
        for (; from < lines.length; from++) {
          const match = lines[from].match(pattern);
          if (match) {
            from++;
            return match;
          }
        }
        return undefined;
      };
      const found = search();
      if (found) return found;
      let wake!: () => void;
      try {
        return await within(
          new Promise<RegExpMatchArray>((resolve) => {
            wake = () => {
              const match = search();
              if (match) resolve(match);
            };
            waiters.add(wake);
          }),
          `${what} on the CLI's stdout (so far: ${JSON.stringify(lines)})`,
        );
      } finally {
        waiters.delete(wake);
      }
    },
  };
}

async function postForm(
  url: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await within(
    fetch(url, { method: "POST", body: new URLSearchParams(fields) }),
    `${url} to answer`,
  );
  return { status: response.status, body: await response.json() };
}

test(
  "the fake-server CLI prints its URLs and demo accounts (with and without 2FA), takes messages on stdin and exits 0 on SIGINT",
  {
    timeout: 120_000,
  },
  async () => {
    const [program, ...args] = runtimeCommand("testing/cli.ts");
    const child = spawn(program, args, {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => stderr += chunk);
    const exited = new Promise<{ code: number | null; signal: string | null }>(
      (resolve) =>
        child.once("close", (code, signal) => resolve({ code, signal })),
    );
    const started = new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", reject);
    });
    let socket: WebSocket | undefined;
    try {
      await within(started, "the CLI process to start");
      const out = lineReader(child);
      const apiUrl = (await out.waitFor(
        /^apiUrl\s+(http:\/\/127\.0\.0\.1:\d+\/1)$/,
        "the apiUrl line",
      ))[1];
      const websocketUrl = (await out.waitFor(
        /^websocketUrl\s+(ws:\/\/127\.0\.0\.1:\d+\/push)$/,
        "the websocketUrl line",
      ))[1];
      const [, email, password, twofa] = await out.waitFor(
        /^demo account\s+email (\S+)\s+password (\S+)\s+2FA code (\S+)$/,
        "the demo account line",
      );
      assert.equal(new URL(apiUrl).port, new URL(websocketUrl).port);

      // The demo account has 2FA: 412 without the code, 200 with it.
      const login = `${apiUrl}/users/login.json`;
      const refused = await postForm(login, { email, password });
      assert.equal(refused.status, 412);
      assert.equal(refused.body.status, 0);
      const session = await postForm(login, { email, password, twofa });
      assert.equal(session.status, 200);
      // The other account has none, for clients that cannot ask for a code.
      const [, plainEmail, plainPassword] = await out.waitFor(
        /^no-2FA account\s+email (\S+)\s+password (\S+)$/,
        "the no-2FA account line",
      );
      const plain = await postForm(login, {
        email: plainEmail,
        password: plainPassword,
      });
      assert.equal(plain.status, 200);
      const secret = session.body.secret as string;
      assert.match(secret, /^[A-Za-z0-9]{60}$/);

      const registered = await postForm(`${apiUrl}/devices.json`, {
        secret,
        name: "cli-test",
        os: "O",
      });
      assert.equal(registered.status, 200);
      const deviceId = registered.body.id as string;

      // A logged-in socket hears the '!' of the typed message.
      const ws = socket = new WebSocket(websocketUrl);
      ws.binaryType = "arraybuffer";
      const frames: string[] = [];
      let bang!: () => void;
      const banged = new Promise<void>((resolve) => bang = resolve);
      ws.addEventListener("message", (event: MessageEvent) => {
        const data: unknown = event.data;
        const frame = data instanceof ArrayBuffer
          ? String.fromCharCode(...new Uint8Array(data))
          : String(data);
        frames.push(frame);
        if (frame === "!") bang();
      });
      await within(
        new Promise((resolve, reject) => {
          ws.addEventListener("open", resolve);
          ws.addEventListener(
            "close",
            () => reject(new Error("socket closed")),
          );
        }),
        "the socket to open",
      );
      ws.send(`login:${deviceId}:${secret}\n`);
      // The login gets no answer; the CLI's "/frame #" counts logged-in
      // sockets. Asked until it counts this one, for as long as any wait
      // here: a count of tries ran out in 0.1 s on a busy machine.
      await within(
        (async () => {
          for (;;) {
            child.stdin!.write("/frame #\n");
            const [, count] = await out.waitFor(
              /^sent to (\d+) socket\(s\)$/,
              "the /frame answer",
            );
            if (count === "1") return;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        })(),
        "the socket logged in",
      );

      child.stdin!.write("hello from stdin\n");
      await out.waitFor(
        /^queued umid \d+ on 1 device\(s\)$/,
        "the queued line",
      );
      await within(banged, "the '!' frame");
      assert.equal(frames[frames.length - 1], "!");

      const query = new URLSearchParams({ secret, device_id: deviceId });
      const response = await within(
        fetch(`${apiUrl}/messages.json?${query}`),
        "messages.json to answer",
      );
      assert.equal(response.status, 200);
      const { messages } = await response.json() as {
        messages: { message: string; app: string }[];
      };
      assert.deepEqual(messages.map((m) => m.message).slice(1), [
        "hello from stdin",
      ]);
      assert.equal(messages[0].app, "Pushover"); // the welcome message

      const socketClosed = new Promise((resolve) =>
        ws.addEventListener("close", resolve)
      );
      // Not child.kill(): Deno's node:child_process then reports the exit as
      // "killed by SIGINT" even when the child handled it and exited with 0.
      process.kill(child.pid!, "SIGINT");
      const { code, signal } = await within(
        exited,
        "the CLI to exit on SIGINT",
      );
      assert.equal(signal, null, stderr);
      assert.equal(code, 0, stderr);
      await within(socketClosed, "the server to close the socket");
    } finally {
      socket?.close();
      child.stdin!.end();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
      }
      await within(exited, "the CLI process to end", 2000).catch(() => {});
    }
  },
);

test(
  "the fake-server CLI with --state FILE keeps accounts, devices and queues across a restart",
  {
    timeout: 120_000,
  },
  async () => {
    const state = join(
      await mkdtemp(join(tmpdir(), "fake-state-")),
      "state.json",
    );
    /** One run of the CLI: its apiUrl, and a way to stop it. */
    const start = async () => {
      const [program, ...args] = runtimeCommand("testing/cli.ts", [
        "--state",
        state,
      ]);
      const child = spawn(program, args, {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1" },
      });
      const exited = new Promise<number | null>((resolve) =>
        child.once("close", (code) => resolve(code))
      );
      const out = lineReader(child);
      const apiUrl = (await out.waitFor(
        /^apiUrl\s+(http:\/\/127\.0\.0\.1:\d+\/1)$/,
        "the apiUrl line",
      ))[1];
      await out.waitFor(/kept in .*state\.json/, "the line naming the state");
      return {
        apiUrl,
        stop: async () => {
          child.kill("SIGINT");
          await within(exited, "the CLI to end");
        },
      };
    };
    const first = await start();
    const session = await postForm(`${first.apiUrl}/users/login.json`, {
      email: "plain@example.com",
      password: "plain-password",
    });
    const secret = String(session.body.secret);
    const device = await postForm(`${first.apiUrl}/devices.json`, {
      secret,
      name: "kept",
      os: "O",
    });
    const deviceId = String(device.body.id);
    await postForm(`${new URL(first.apiUrl).origin}/control/send`, {
      message: "survives a restart",
    });
    // Saved after each change: the send's request is the last one.
    for (
      let i = 0;
      !(await readFile(state, "utf8")).includes("survives");
      i++
    ) {
      if (i > 3_000) assert.fail("the state file never got the message");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await first.stop();
    assert.equal((await stat(state)).mode & 0o777, 0o600);

    const second = await start();
    try {
      const response = await within(
        fetch(
          `${second.apiUrl}/messages.json?secret=${secret}&device_id=${deviceId}`,
        ),
        "the download",
      );
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.deepEqual(
        body.messages.map((m: { message: string }) => m.message).at(-1),
        "survives a restart",
      );
    } finally {
      await second.stop();
    }
  },
);
