// `service install | uninstall | print`: run the listener as a systemd user
// service, restarted on failure but not when logging in again is needed.

import { spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { EXIT, usage } from "./_fail.ts";
import { childStderr, type Io, print, say, write } from "./_io.ts";
import { childEnvironment } from "./_hooks.ts";
import { exists } from "./_files.ts";
import { unitPath } from "./_paths.ts";
import { checkArgs as checkListenArgs } from "./listen.ts";

export const help = (env: Io["env"]): string =>
  `Usage: pushover-open-client service print [listen options]
       pushover-open-client service install [listen options]
       pushover-open-client service uninstall

print shows the systemd user unit that runs \`listen\` with the options
given (the runtime and this program by absolute path); install writes it to
${unitPath(env)} and says which systemctl lines to run; uninstall removes it.
The service restarts after a failure, but not after exit code 2 (bad
options), 3 (log in again) or 4 (another client took the device over).

Example:
  pushover-open-client service install --notify --exec ~/bin/on-alert`;

/** A word of ExecStart, quoted the way systemd reads it. */
export function systemdQuote(word: string): string {
  const escaped = word.replace(/\\/g, "\\\\").replace(/"/g, '\\"')
    .replace(/%/g, "%%").replace(/\$/g, "$$$$").replace(/\n/g, "\\n");
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? escaped : `"${escaped}"`;
}

/** How this very program is started again: runtime, its flags, the script. */
function selfCommand(): string[] {
  const main = new URL("./main.ts", import.meta.url);
  const script = main.protocol === "file:" ? fileURLToPath(main) : main.href;
  const isDeno = "Deno" in globalThis;
  return isDeno
    ? [process.execPath, "run", "-A", script]
    : [process.execPath, ...process.execArgv, script];
}

/** Listen options as given, with paths made absolute (a unit has no cwd). */
function absolutePaths(args: string[]): string[] {
  const pathFlags = new Set(["--config", "--e2ee-key-file", "--status-file"]);
  return args.map((arg, i) => {
    if (pathFlags.has(args[i - 1] ?? "")) return resolve(arg);
    const [flag, value] = arg.split(/=(.*)/s);
    return value !== undefined && pathFlags.has(flag)
      ? `${flag}=${resolve(value)}`
      : arg;
  });
}

/** The unit text. */
export function unitText(listenArgs: string[]): string {
  const command = [...selfCommand(), "listen", ...absolutePaths(listenArgs)]
    .map(systemdQuote).join(" ");
  return `[Unit]
Description=Pushover notifications (pushover-open-client listen)
Documentation=https://jsr.io/@openpush/pushover-open-client
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=${command}
Restart=on-failure
RestartSec=10
# 2: bad options or an unreadable file; 3: the device was refused (log in
# again); 4: another client took it over. A restart changes none of these.
RestartPreventExitStatus=2 3 4

[Install]
WantedBy=default.target
`;
}

/** Runs `systemd-analyze verify` where it exists; its complaint, if any. */
function verify(path: string, env: Io["env"]): Promise<string | undefined> {
  return new Promise((resolveCheck) => {
    let out = "";
    // Not --user: that needs a user session; the unit's syntax is the same.
    const child = spawn("systemd-analyze", ["verify", path], {
      env: childEnvironment(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk) => out += chunk);
    child.stderr.on("data", (chunk) => out += chunk);
    child.on("error", () => resolveCheck(undefined)); // not installed
    child.on(
      "close",
      (code) =>
        resolveCheck(code === 0 ? undefined : out.trim() || `exit ${code}`),
    );
  });
}

/** Runs `systemctl --user …` where there is one; quiet when there is not. */
function systemctl(args: string[], io: Io): Promise<void> {
  return new Promise((done) => {
    const child = spawn("systemctl", ["--user", ...args], {
      env: childEnvironment(io.env),
      stdio: ["ignore", "ignore", childStderr(io)],
    });
    child.stderr?.on("data", (chunk) => write(io.stderr, chunk));
    child.on("error", () => done());
    child.on("close", () => done());
  });
}

/** Runs `service`. */
export async function run(args: string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || args.includes("--help") || action === "-h") {
    print(io, help(io.env));
    return action === undefined ? EXIT.usage : EXIT.ok;
  }
  // A unit with options `listen` refuses would fail at every restart.
  if (action === "print" || action === "install") checkListenArgs(rest, io);
  const path = unitPath(io.env);
  switch (action) {
    case "print":
      write(io.stdout, unitText(rest));
      return EXIT.ok;
    case "install": {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, unitText(rest), { mode: 0o644 });
      const problem = await verify(path, io.env);
      if (problem) say(io, `systemd-analyze verify: ${problem}`);
      say(
        io,
        `Wrote ${path}. Now run:
  systemctl --user daemon-reload
  systemctl --user enable --now pushover-open-client
To keep it running while you are logged out: loginctl enable-linger
Its log: journalctl --user -u pushover-open-client -f`,
      );
      return EXIT.ok;
    }
    case "uninstall":
      if (rest.length > 0) throw usage("service uninstall takes no options");
      if (!(await exists(path))) {
        say(io, `no unit at ${path}: nothing to uninstall`);
        return EXIT.ok;
      }
      // Stopped and disabled first: systemctl needs the unit to find its links.
      await systemctl(["disable", "--now", "pushover-open-client"], io);
      await rm(path);
      await systemctl(["daemon-reload"], io);
      say(io, `Stopped, disabled and removed ${path}.`);
      return EXIT.ok;
    default:
      throw usage(
        `service: '${action}' is not an action; use print, install or uninstall`,
      );
  }
}
