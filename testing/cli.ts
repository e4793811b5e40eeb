/**
 * Runs the fake Pushover server on its own, so any client in any language can
 * be tried against it without a paid account:
 *
 *   deno task fake-server [--port 8080] [--keep-alive 30000] [--state FILE]
 *
 * With `--state FILE` its accounts, devices and queues are read from FILE at
 * start (when it exists) and written back after every change (mode 0600: it
 * holds the fake's secrets), so a restart keeps them; without, they live in
 * memory only.
 *
 * It prints the URLs, a demo account with 2FA and one without, then reads
 * lines on stdin (messages go to the demo account's devices):
 *   any text            → a message with that body, to every device
 *   {"message": …}      → a message with those fields (title, priority, url …)
 *   /frame R|E|A|#|!    → that frame to every logged-in socket
 *   /drop               → drop every socket with no frame
 * or take messages over HTTP: POST {origin}/control/send with form fields.
 * It runs until Ctrl-C.
 *
 * @module
 */

import { readFile, rename, writeFile } from "node:fs/promises";
import process from "node:process";
import { createInterface } from "node:readline";
import { type Frame, startFakeServer } from "./mod.ts";

const DEMO_ACCOUNT = {
  email: "demo@example.com",
  password: "demo-password",
  twofa: "123456",
};
/** For clients that cannot ask for a code. */
const PLAIN_ACCOUNT = {
  email: "plain@example.com",
  password: "plain-password",
};

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const stateAt = process.argv.indexOf("--state");
const stateFile = stateAt === -1 ? undefined : process.argv[stateAt + 1];
if (stateAt !== -1 && !stateFile) {
  console.error(
    "--state needs a FILE: the fake's accounts, devices and queues",
  );
  process.exit(2);
}

const server = await startFakeServer({
  port: option("port", 0),
  keepAliveInterval: option("keep-alive", 30_000),
  accounts: [DEMO_ACCOUNT, PLAIN_ACCOUNT],
});

if (stateFile) await keepState(stateFile);

/** Restores the store from `file`, then writes it back after each change. */
async function keepState(file: string): Promise<void> {
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") {
      console.error(`cannot read --state ${file}: ${(error as Error).message}`);
      process.exit(2);
    }
  }
  if (text !== undefined) {
    try {
      server.store.restore(JSON.parse(text));
    } catch (error) {
      console.error(
        `--state ${file} is not a state this fake wrote: ${
          (error as Error).message
        }`,
      );
      process.exit(2);
    }
  }
  const save = async () => {
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(server.store.snapshot()), {
      mode: 0o600,
    });
    await rename(temporary, file);
  };
  await save();
  // Every request and socket event is a log entry: saved after each, one
  // save at a time.
  void (async () => {
    for (let seen = server.log.entries.length;;) {
      await server.log.waitFor(() => true, seen);
      seen = server.log.entries.length;
      await save().catch((error) =>
        console.error(`cannot write --state ${file}: ${error.message}`)
      );
    }
  })();
}

console.log(`apiUrl        ${server.apiUrl}`);
console.log(`websocketUrl  ${server.websocketUrl}`);
console.log(
  `control       POST ${server.assetUrl}/control/send (form: message, title, priority …; user=EMAIL picks the account, else the one whose device registered last)`,
);
console.log(
  `demo account  email ${DEMO_ACCOUNT.email}  password ${DEMO_ACCOUNT.password}  2FA code ${DEMO_ACCOUNT.twofa}`,
);
console.log(
  `no-2FA account  email ${PLAIN_ACCOUNT.email}  password ${PLAIN_ACCOUNT.password}`,
);
console.log(
  `Type a line to send it as a message (to the account whose device registered last); /frame R, /drop; Ctrl-C to stop. ${
    stateFile
      ? `Accounts, devices and queues are kept in ${stateFile}.`
      : "Accounts and devices live in memory (--state FILE keeps them across restarts)."
  }`,
);

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const text = line.trim();
  if (text === "") return;
  try {
    if (text.startsWith("/frame ")) {
      const count = server.sendFrame(text.slice(7).trim() as Frame);
      console.log(`sent to ${count} socket(s)`);
    } else if (text === "/drop") {
      console.log(`dropped ${server.dropSockets()} socket(s)`);
    } else {
      const sent = server.send(
        text.startsWith("{") ? JSON.parse(text) : { message: text },
      );
      console.log(
        `queued umid ${sent.umid} on ${Object.keys(sent.ids).length} device(s)`,
      );
    }
  } catch (error) {
    console.log(`not sent: ${(error as Error).message}`);
  }
});

process.on("SIGINT", async () => {
  lines.close();
  await server.close();
  process.exit(0);
});
