/**
 * Checks the npm tarball the way the ecosystem does: publint and
 * arethetypeswrong find no problem; a fresh Node project installs it,
 * imports it from plain JavaScript (the whole flow against the fake it
 * exports), type-checks a TypeScript file against it with
 * `--moduleResolution nodenext` and `bundler`, and runs the CLI with npx.
 * Prints `ok`/`not ok` per check, then `# pass N` and `# fail N`; with
 * `--junit FILE`, writes the same as a JUnit XML report (the test command
 * reads that).
 *
 *   deno run -A npm/check.ts [npm/dist/<name>-<version>.tgz] [--junit FILE]
 *
 * @module
 */

import { resolve } from "node:path";
import { toJUnit } from "../tests/_junit.ts";
import type { TestResult } from "../tests/_junit.ts";
import { findNode, fromNpm, ROOT } from "../tests/_runtimes.ts";
import { buildNpmPackage } from "./build.ts";

/** Each check's time limit: an npm install takes seconds, not minutes. */
const CHECK_TIMEOUT = 180_000;

const junitAt = Deno.args.indexOf("--junit");
const junit = junitAt === -1 ? undefined : Deno.args[junitAt + 1];
const given = Deno.args.filter((_, i) => i !== junitAt && i !== junitAt + 1);
const tarball = resolve(given[0] ?? await buildNpmPackage());
const node = await findNode(24);
const nodeDir = node.includes("/") ? node.slice(0, node.lastIndexOf("/")) : "";
const env = {
  PATH: `${nodeDir ? `${nodeDir}:` : ""}${Deno.env.get("PATH")}`,
  NO_COLOR: "1",
};
const publint = await fromNpm("npm-tools", "publint@0", "publint/src/cli.js");
const attw = await fromNpm(
  "npm-tools",
  "@arethetypeswrong/cli@0",
  "@arethetypeswrong/cli/dist/index.js",
);
// The build's own TypeScript (attw brings an older one into npm-tools).
const tsc = await fromNpm("typescript", "typescript@5", "typescript/bin/tsc");
const typesNode = await fromNpm(
  "npm-tools",
  "@types/node@22",
  "@types/node/package.json",
);

/** Every check's outcome, for the counts and the JUnit report. */
const results: TestResult[] = [];

function record(name: string, ok: boolean, message = ""): void {
  results.push(
    ok
      ? { file: "npm/check.ts", name, outcome: "passed" }
      : { file: "npm/check.ts", name, outcome: "failed", message },
  );
}

/** A check's result line and what its tool printed. */
interface Outcome {
  ok: boolean;
  line: string;
  output: string;
}

/** Runs one check without printing: see {@linkcode show}. */
async function checkQuietly(
  name: string,
  program: string,
  args: string[],
  cwd = ROOT,
): Promise<Outcome> {
  // A check that hangs (a stream that never delivers) fails, not the run.
  const result = await new Deno.Command(program, {
    args,
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CHECK_TIMEOUT),
  }).output();
  const output = (new TextDecoder().decode(result.stdout) +
    new TextDecoder().decode(result.stderr)).trim();
  if (result.signal === "SIGTERM" && !result.success) {
    return {
      ok: false,
      line: `not ok - ${name} (no end within ${CHECK_TIMEOUT / 1000} s)`,
      output,
    };
  }
  return result.success ? { ok: true, line: `ok - ${name}`, output } : {
    ok: false,
    line: `not ok - ${name} (exit ${result.code})\n${output}`,
    output,
  };
}

/** Prints a check's line once it is done, counts it; its tool's output. */
async function show(outcome: Promise<Outcome>): Promise<string> {
  const { ok, line, output } = await outcome;
  record(line.replace(/^(?:not )?ok - /, "").split("\n")[0], ok, output);
  console.log(line);
  return output;
}

/** Prints a tool's report indented under its check's line. */
const report = (output: string) =>
  console.log(output.split("\n").map((line) => `  ${line}`).join("\n"));

// Independent checks run side by side (each is a Node process that mostly
// computes); their lines are printed in this order.
const project = await Deno.makeTempDir({ prefix: "npm-consumer-" });
// The tarball itself: exactly what is published, and no `npm pack` again.
const linted = checkQuietly("publint", node, [
  publint,
  "run",
  tarball,
  "--strict",
]);
const typed = checkQuietly(
  "arethetypeswrong (ESM only: no CommonJS entry)",
  node,
  [
    attw,
    tarball,
    "--profile",
    "esm-only",
    "--format",
    "table-flipped",
  ],
);
try {
  await Deno.writeTextFile(
    `${project}/package.json`,
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  const installed = checkQuietly(
    "npm install the tarball into a fresh project",
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      tarball,
    ],
    project,
  );
  report(await show(linted));
  report(await show(typed));
  await show(installed);
  // Types for node: built-ins, from the tools folder (no second download).
  await Deno.mkdir(`${project}/node_modules/@types`, { recursive: true });
  await Deno.symlink(
    typesNode.replace(/\/package\.json$/, ""),
    `${project}/node_modules/@types/node`,
  );
  await Deno.writeTextFile(
    `${project}/flow.js`,
    `import { login, registerDevice, downloadMessages, deleteThrough, streamMessages } from "@openpush/pushover-open-client";
import { startFakeServer } from "@openpush/pushover-open-client/testing";
const server = await startFakeServer({ accounts: [{ email: "a@example.com", password: "pw" }] });
const api = { apiUrl: server.apiUrl };
const device = await registerDevice(await login({ email: "a@example.com", password: "pw" }, api), "npm-box", api);
const { messages } = await downloadMessages(device, api);
await deleteThrough(device, messages.at(-1), api);
server.send({ message: "from npm" });
for await (const message of streamMessages(device, { ...api, websocketUrl: server.websocketUrl })) {
  console.log(message.message);
  break;
}
await server.close();
`,
  );
  const flow = checkQuietly(
    "plain JavaScript imports it and runs the flow (Node 24)",
    node,
    ["flow.js"],
    project,
  );
  await Deno.writeTextFile(
    `${project}/check.ts`,
    `import { streamMessages, decryptMessage, type Message, type StreamStatus } from "@openpush/pushover-open-client";
import { startFakeServer, type FakeServer } from "@openpush/pushover-open-client/testing";
import { main } from "@openpush/pushover-open-client/cli";
const server: FakeServer = await startFakeServer();
const onStatus = (status: StreamStatus): void => void status.state;
const stream = streamMessages({ secret: "s", deviceId: "d" }, { apiUrl: server.apiUrl, onStatus });
for await (const message of stream) {
  const plain: Message = await decryptMessage(message, "00".repeat(32));
  const title: string | undefined = plain.title;
  void title;
}
const code: number = await main(["--help"]);
void code;
`,
  );
  // The package's own .d.ts files are checked once, by the nodenext run
  // (TypeScript's own lib files not: they are TypeScript's); the bundler run
  // checks how the file resolves and uses them (checking lib.dom and
  // @types/node again is most of a tsc run).
  const typeChecks = ([
    ["nodenext", "nodenext", ["--skipDefaultLibCheck"]],
    ["bundler", "esnext", ["--skipLibCheck"]],
  ] as const).map(([resolution, module, extra]) =>
    checkQuietly(
      `tsc --moduleResolution ${resolution} type-checks a file using it`,
      node,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--target",
        "es2022",
        "--lib",
        "es2023,dom",
        "--module",
        module,
        "--moduleResolution",
        resolution,
        "--types",
        "node",
        ...extra,
        "check.ts",
      ],
      project,
    )
  );
  const npx = checkQuietly(
    // A subcommand's own help: its module is loaded when it runs.
    "npx pushover-open-client listen --help runs the CLI",
    "npx",
    [
      "--no-install",
      "pushover-open-client",
      "listen",
      "--help",
    ],
    project,
  );
  const printed = await show(flow);
  if (!printed.includes("from npm")) {
    record("the flow's output", false, printed);
    console.log(`not ok - the flow printed: ${printed}`);
  }
  for (const typeCheck of typeChecks) await show(typeCheck);
  const help = await show(npx);
  if (!help.startsWith("Usage: pushover-open-client listen")) {
    record("the CLI's help", false, help.slice(0, 200));
    console.log(`not ok - the CLI printed: ${help.slice(0, 200)}`);
  }
} finally {
  await Deno.remove(project, { recursive: true }).catch(() => {});
}
const failed = results.filter((r) => r.outcome === "failed").length;
console.log(`# pass ${results.length - failed}\n# fail ${failed}`);
if (junit) await Deno.writeTextFile(junit, toJUnit("npm package", results));
Deno.exit(failed === 0 ? 0 : 1);
