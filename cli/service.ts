// `service install | uninstall | print`: run the listener as a systemd user
// service, restarted on failure but not when logging in again is needed.

import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { defineCommand, parseCommand } from "./_command.ts";
import { EXIT, usage } from "./_fail.ts";
import { oneLine } from "./_format.ts";
import { childStderr, type Io, say, sayLines, write } from "./_io.ts";
import { childEnvironment } from "./_hooks.ts";
import { exists, makePrivateDir, writePrivate } from "./_files.ts";
import { unitPath } from "./_paths.ts";
import { listen, type ListenOptions } from "./listen.ts";

/** What `service` runs with: the action, and listen's options as given. */
interface ServiceOptions {
  action: "print" | "install" | "uninstall";
  /** Listen's options as given, for ExecStart. */
  listenArgs: string[];
  /** What they parse to (print and install only). */
  listen?: ListenOptions;
}

const ACTIONS = ["print", "install", "uninstall"] as const;

/** `service`. */
export const service = defineCommand({
  name: "service",
  usage: ["print [listen options]", "install [listen options]", "uninstall"],
  about: (env) =>
    `print shows the systemd user unit that runs \`listen\` with the options
given (the runtime and this program by absolute path); install writes it to
${unitPath(env)}
and says which systemctl lines to run; uninstall removes it.
The service restarts after a failure, but not after exit code 2 (bad
options), 3 (log in again) or 4 (another client took the device over).
Listen's options: see listen --help.`,
  flags: {},
  positionals: 1,
  rest: true,
  footer: `Example:
  pushover-open-client service install --notify --exec ~/bin/on-alert`,
  options({ positionals, rest }, env): ServiceOptions {
    const action = ACTIONS.find((name) => name === positionals[0]);
    if (action === undefined) {
      throw usage(
        positionals[0] === undefined
          ? "service: give an action: print, install or uninstall; see service --help"
          : `service: '${
            oneLine(positionals[0])
          }' is not an action; use print, install or uninstall`,
      );
    }
    if (action === "uninstall") {
      if (rest.length > 0) throw usage("service uninstall takes no options");
      return { action, listenArgs: [] };
    }
    // A unit with options \`listen\` refuses would fail at every restart.
    return {
      action,
      listenArgs: rest,
      listen: parseCommand(listen, rest, env),
    };
  },
  run: (options, { io }) => manage(options, io),
});

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

/**
 * Listen options as given, with paths made absolute: a user unit runs in
 * the home folder, not where `service install` ran. Every flag whose value
 * is a PATH in listen's table (--inbox, --config, the key, the status file).
 */
function absolutePaths(args: string[]): string[] {
  const pathFlags = new Set(
    Object.entries(listen.flags)
      .filter(([, flag]) => "value" in flag && flag.value === "PATH")
      .map(([name]) => `--${name}`),
  );
  return args.map((arg, i) => {
    if (pathFlags.has(args[i - 1] ?? "")) return resolve(arg);
    const [flag, value] = arg.split(/=(.*)/s);
    return value !== undefined && pathFlags.has(flag)
      ? `${flag}=${resolve(value)}`
      : arg;
  });
}

/** The unit text. */
export function unitText(
  listenArgs: string[],
  environmentFile?: string,
): string {
  const command = [...selfCommand(), "listen", ...absolutePaths(listenArgs)]
    .map(systemdQuote).join(" ");
  // Secrets (the webhook's credentials) come from a 0600 file, never the
  // unit, which every user may read.
  const environment = environmentFile
    ? `EnvironmentFile=${systemdQuote(environmentFile)}\n`
    : "";
  return `[Unit]
Description=Pushover notifications (pushover-open-client listen)
Documentation=https://jsr.io/@openpush/pushover-open-client
Wants=network-online.target
After=network-online.target

[Service]
${environment}ExecStart=${command}
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
/** Runs `systemctl --user ARGS`; resolves whether it succeeded. */
function systemctl(args: string[], io: Io): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn("systemctl", ["--user", ...args], {
      env: childEnvironment(io.env),
      stdio: ["ignore", "ignore", childStderr(io)],
    });
    child.stderr?.on("data", (chunk) => write(io.stderr, chunk));
    child.on("error", () => done(false));
    child.on("close", (code) => done(code === 0));
  });
}

/**
 * The unit, checked by systemd-analyze under its own name in a private
 * temporary folder: a unit that does not verify is never written.
 */
async function verifiedUnit(text: string, env: Io["env"]): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), "pushover-open-client-"));
  try {
    const draft = join(folder, "pushover-open-client.service");
    await writeFile(draft, text, { mode: 0o600, flag: "wx" });
    const problem = await verify(draft, env);
    if (problem) {
      throw usage(
        `service install: systemd-analyze verify refused the unit (${
          problem.split("\n")[0]
        }); nothing was written`,
      );
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * A warning when this program runs from npx's cache: npm clears it, and the
 * unit would then start nothing.
 */
function cacheWarning(): string | undefined {
  const script = selfCommand().at(-1) ?? "";
  return /[\\/]_npx[\\/]/.test(script)
    ? `the unit runs this program from npx's cache (${script}), which npm may clear; install it first (deno install -g -A -n pushover-open-client jsr:@openpush/pushover-open-client/cli) and run service install from there`
    : undefined;
}

/**
 * The 0600 file the unit reads the webhook's credentials from, beside the
 * credentials file: when `--webhook` is given and PUSHOVER_WEBHOOK_AUTH is
 * set where `service` runs.
 */
function secretsFile(
  listen: ListenOptions,
): { path: string; text: string } | undefined {
  const auth = listen.webhookAuth;
  if (!auth || !listen.webhook) return undefined;
  // systemd's quoting: backslash and double quote escaped, inside quotes.
  const quoted = auth.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return {
    path: join(dirname(resolve(listen.config)), "service.env"),
    text: `PUSHOVER_WEBHOOK_AUTH="${quoted}"\n`,
  };
}

/** Prints, installs or removes the unit. */
async function manage(options: ServiceOptions, io: Io): Promise<number> {
  const { action, listenArgs } = options;
  const path = unitPath(io.env);
  const warning = action === "uninstall" ? undefined : cacheWarning();
  if (warning) say(io, `warning: ${warning}`);
  const secrets = options.listen && secretsFile(options.listen);
  switch (action) {
    case "print":
      write(io.stdout, unitText(listenArgs, secrets?.path));
      return EXIT.ok;
    case "install": {
      const text = unitText(listenArgs, secrets?.path);
      await verifiedUnit(text, io.env);
      if (secrets) await writePrivate(secrets.path, secrets.text);
      await makePrivateDir(dirname(path));
      // Only its owner reads it: a --webhook URL may carry a token in its
      // path (systemd reads a user's unit as that user).
      await writeFile(path, text, { mode: 0o600 });
      sayLines(io, [
        `Wrote ${path}. Now run:`,
        `  systemctl --user daemon-reload`,
        `  systemctl --user enable --now pushover-open-client`,
        `To keep it running while you are logged out: loginctl enable-linger`,
        `Its log: journalctl --user -u pushover-open-client -f`,
      ]);
      return EXIT.ok;
    }
    case "uninstall": {
      if (!(await exists(path))) {
        say(io, `no unit at ${path}: nothing to uninstall`);
        return EXIT.ok;
      }
      // Stopped and disabled first: systemctl needs the unit to find its links.
      const disabled = await systemctl(
        ["disable", "--now", "pushover-open-client"],
        io,
      );
      await rm(path);
      const reloaded = await systemctl(["daemon-reload"], io);
      if (disabled && reloaded) {
        say(io, `Stopped, disabled and removed ${path}.`);
        return EXIT.ok;
      }
      say(
        io,
        `Removed ${path}, but ${
          disabled
            ? "systemctl --user daemon-reload failed: run it yourself"
            : "systemctl --user disable --now pushover-open-client failed: the service may still run; stop it with systemctl --user stop pushover-open-client"
        }`,
      );
      return EXIT.error;
    }
  }
}
