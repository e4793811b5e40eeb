/**
 * Checks the npm tarball the way the ecosystem does: publint and
 * arethetypeswrong find no problem; a fresh Node project installs it,
 * imports it from plain JavaScript (the whole flow against the fake it
 * exports), type-checks a TypeScript file against it with
 * `--moduleResolution nodenext` and `bundler`, and runs the CLI with npx.
 * Prints `ok`/`not ok` per check, then `# pass N` and `# fail N`.
 *
 *   deno run -A npm/check.ts [npm/dist/<name>-<version>.tgz]
 *
 * @module
 */

import { resolve } from "node:path";
import { findNode, fromNpm, ROOT } from "../tests/_runtimes.ts";
import { buildNpmPackage } from "./build.ts";

/** Each check's time limit: an npm install takes seconds, not minutes. */
const CHECK_TIMEOUT = 180_000;

const tarball = resolve(Deno.args[0] ?? await buildNpmPackage());
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

let passed = 0;
let failed = 0;

async function check(
  name: string,
  program: string,
  args: string[],
  cwd = ROOT,
) {
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
    failed++;
    console.log(`not ok - ${name} (no end within ${CHECK_TIMEOUT / 1000} s)`);
  } else if (result.success) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name} (exit ${result.code})\n${output}`);
  }
  return output;
}

const lint = await check("publint", node, [
  publint,
  tarball.replace(/[^/]+\.tgz$/, "package"),
  "--strict",
]);
console.log(lint.split("\n").map((line) => `  ${line}`).join("\n"));
const types = await check(
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
console.log(types.split("\n").map((line) => `  ${line}`).join("\n"));

// A fresh project, as a user would make it.
const project = await Deno.makeTempDir({ prefix: "npm-consumer-" });
try {
  await Deno.writeTextFile(
    `${project}/package.json`,
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  await check("npm install the tarball into a fresh project", "npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--ignore-scripts",
    tarball,
  ], project);
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
  const flow = await check(
    "plain JavaScript imports it and runs the flow (Node 24)",
    node,
    ["flow.js"],
    project,
  );
  if (!flow.includes("from npm")) {
    failed++;
    console.log(`not ok - the flow printed: ${flow}`);
  }
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
  for (
    const [resolution, module] of [["nodenext", "nodenext"], [
      "bundler",
      "esnext",
    ]]
  ) {
    await check(
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
        "check.ts",
      ],
      project,
    );
  }
  const help = await check(
    "npx pushover-open-client --help runs the CLI",
    "npx",
    [
      "--no-install",
      "pushover-open-client",
      "--help",
    ],
    project,
  );
  if (!help.startsWith("Usage: pushover-open-client")) {
    failed++;
    console.log(`not ok - the CLI printed: ${help.slice(0, 200)}`);
  }
} finally {
  await Deno.remove(project, { recursive: true }).catch(() => {});
}
console.log(`# pass ${passed}\n# fail ${failed}`);
Deno.exit(failed === 0 ? 0 : 1);
