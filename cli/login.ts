// `login`: log in, register this machine as a device, save it.

import {
  deleteThrough,
  downloadMessages,
  login as logIn,
  LoginRequiredError,
  PushoverError,
  registerDevice,
  TwoFactorRequiredError,
} from "../mod.ts";
import type { Device, RequestOptions, Session } from "../mod.ts";
import { type Context, defineCommand } from "./_command.ts";
import { CliError, EXIT, usage } from "./_fail.ts";
import { type Io, say, sayLines } from "./_io.ts";
import { suggest } from "./_program.ts";
import {
  checkWritable,
  loadKey,
  readCredentials,
  readKeyFile,
  readSecretFile,
  saveKeyBeside,
  writeCredentials,
} from "./_files.ts";
import {
  configPath,
  defaultDeviceName,
  type Endpoints,
  urlFlags,
} from "./_options.ts";
import { defaultConfigPath } from "./_paths.ts";
import type { Prompt } from "./_prompt.ts";

/** What `login` runs with: its flags, checked. */
interface LoginOptions {
  name: string;
  force: boolean;
  twofaFile: string | undefined;
  keyFile: string | undefined;
  config: string;
  configFlag: string | undefined;
  urls: Endpoints;
}

/** `login`. */
export const login = defineCommand({
  name: "login",
  usage: ["[options]"],
  about:
    `Logs in to Pushover, registers this machine as an Open Client device and
saves the device (its secret, never your password) with mode 0600. The
messages already queued for the new device (its welcome) are deleted.

Answers come from the terminal; without one (a service, a script) from
PUSHOVER_EMAIL, PUSHOVER_PASSWORD and PUSHOVER_TWOFA, else one per line on
stdin.`,
  flags: {
    name: {
      type: "string",
      value: "NAME",
      help: () =>
        `the device name senders target (default: ${defaultDeviceName()})`,
    },
    force: {
      type: "boolean",
      help:
        "take NAME over if another device of the account has it; that device most likely stops working",
    },
    // Refused with a reason rather than unknown: the code would be in argv.
    twofa: { type: "string", hidden: true, help: "refused: see --twofa-file" },
    "twofa-file": {
      type: "string",
      value: "PATH",
      help:
        "a file (mode 0600) holding the two-factor code, if the account has 2FA (or PUSHOVER_TWOFA)",
    },
    "e2ee-key-file": {
      type: "string",
      value: "PATH",
      help: "the end-to-end key to save beside the device",
    },
    config: {
      type: "string",
      value: "PATH",
      help: (env) => `where to save (default\u00a0${defaultConfigPath(env)})`,
    },
    "api-url": {
      type: "string",
      value: "URL",
      help: "REST API base (default https://api.pushover.net/1)",
    },
    "websocket-url": {
      type: "string",
      value: "URL",
      help: "WebSocket (default wss://client.pushover.net/push)",
    },
  },
  options({ values }, env): LoginOptions {
    if (values.twofa !== undefined) {
      // Not echoed: it is the code.
      throw usage(
        "login: --twofa would show the code to every user of this machine (the process list); set PUSHOVER_TWOFA, pass --twofa-file PATH, or answer the question",
      );
    }
    return {
      name: checkName(values.name ?? defaultDeviceName(), "--name"),
      force: values.force === true,
      twofaFile: values["twofa-file"],
      keyFile: values["e2ee-key-file"],
      config: configPath(values, env),
      configFlag: values.config,
      urls: urlFlags(values),
    };
  },
  run: logInAndSave,
});

/** At most this many tries for a password, a 2FA code, a device name. */
const TRIES = 3;

/** Registration requests in one run: each may add a dashboard device. */
const REGISTRATIONS = 3;

/** Runs `login`; returns the exit code. */
async function logInAndSave(
  options: LoginOptions,
  { io, prompt, net, signal }: Context,
): Promise<number> {
  const twofaFromFile = options.twofaFile === undefined
    ? undefined
    : await readSecretFile(options.twofaFile, "--twofa-file");
  const path = options.config;
  // Ctrl-C cuts a request short: a login the user stopped registers nothing.
  const requests: RequestOptions = { ...options.urls, ...net, signal };
  // A new key is read now and saved only with the device it goes with: a
  // login that fails leaves the saved device its own key.
  const key = options.keyFile === undefined
    ? await loadKey(undefined, path)
    : await readKeyFile(options.keyFile, "--e2ee-key-file");
  // Before anything is registered: a device whose secret could not be
  // saved is lost, and its name taken.
  await checkWritable(path);
  let name = options.name;

  const email = io.env.PUSHOVER_EMAIL ||
    await answer(prompt.ask("E-mail: "), "e-mail", "PUSHOVER_EMAIL");
  const session = await logInAsking(
    io,
    prompt,
    requests,
    email,
    twofaFromFile,
  );

  let device: Device | undefined;
  for (let tries = 1; !device; tries++) {
    try {
      device = await registerDevice(session, name, {
        ...requests,
        force: options.force,
      });
    } catch (error) {
      if (!isTaken(error)) throw error;
      const fix =
        `pass --name with another name, or --force to take "${name}" over (that device most likely stops working)`;
      if (!prompt.interactive || tries >= REGISTRATIONS) {
        throw usage(
          `the device name "${name}" is taken by another device of this account: ${fix}`,
        );
      }
      name = await askName(
        io,
        prompt,
        `"${name}" is taken; another name: `,
        fix,
      );
    }
  }
  // The device saved before stays registered on the account (and counts
  // against its devices): said, since this login takes its place here.
  const previous = await readCredentials(path).catch(() => undefined);
  if (previous && previous.device.deviceId !== device.deviceId) {
    say(
      io,
      `This replaces the device "${
        previous.deviceName ?? previous.device.deviceId
      }" saved in ${path}; it stays registered on your account: remove it at https://pushover.net/ if it is no longer used.`,
    );
  }
  // Saved first: should the backlog's delete fail, the device is not lost
  // (its name would be taken, with no secret to use it).
  await writeCredentials(path, {
    device,
    userKey: session.userKey,
    email,
    deviceName: name,
    ...options.urls,
  });
  if (options.keyFile !== undefined && key !== undefined) {
    await saveKeyBeside(key, options.keyFile, path);
  }
  await deleteBacklog(device, requests);
  sayLines(io, [
    `Logged in as ${email}; this machine is the device "${name}". Saved to ${path} (no password).${
      key ? " The end-to-end key is saved beside it." : ""
    }`,
    `Next: ${suggest("listen", options.configFlag)}`,
  ]);
  return EXIT.ok;
}

/** Logs in, asking again for a refused password or 2FA code (3 tries each). */
async function logInAsking(
  io: Io,
  prompt: Prompt,
  api: RequestOptions,
  email: string,
  twofaFlag: string | undefined,
): Promise<Session> {
  const given = io.env.PUSHOVER_PASSWORD;
  let password = given ||
    await answer(
      prompt.askHidden("Password: "),
      "password",
      "PUSHOVER_PASSWORD",
    );
  let twofa = twofaFlag ?? (io.env.PUSHOVER_TWOFA || undefined);
  // A code from a flag or the environment cannot be typed again.
  let codeFixed = twofa !== undefined;
  let passwords = 1;
  let codes = 0;
  while (true) {
    try {
      return await logIn({ email, password, twofa }, api);
    } catch (error) {
      if (error instanceof TwoFactorRequiredError) {
        if (error.codeRejected) say(io, "That code was not accepted.");
        if (++codes > TRIES || (error.codeRejected && codeFixed)) {
          throw new CliError(
            "the two-factor code was not accepted: log in again with a fresh code",
            EXIT.loginRequired,
          );
        }
        // A code is digits: spaces typed around it are not part of it.
        twofa = await answer(
          prompt.askHidden("Two-factor code: ").then((code) => code?.trim()),
          "two-factor code",
          "PUSHOVER_TWOFA or --twofa-file",
        );
        codeFixed = false;
      } else if (isRefusal(error)) {
        if (given || passwords >= TRIES) {
          throw new CliError(
            `Pushover did not accept the e-mail ${email} with that password`,
            EXIT.loginRequired,
          );
        }
        say(io, "That e-mail and password were not accepted.");
        password = await answer(
          prompt.askHidden("Password: "),
          "password",
          "PUSHOVER_PASSWORD",
        );
        passwords++;
      } else throw error;
    }
  }
}

/** An answer, or a usage error at end of input naming what was missing. */
async function answer(
  question: Promise<string | undefined>,
  what: string,
  variable: string,
): Promise<string> {
  const value = await question;
  if (value) return value;
  throw usage(
    `login: no ${what} was given (${
      value === undefined ? "end of input" : "empty answer"
    }); type it in a terminal, or set ${variable}`,
  );
}

async function askName(
  io: Io,
  prompt: Prompt,
  question: string,
  fix: string,
): Promise<string> {
  for (let tries = 1;; tries++) {
    const name = await prompt.ask(question);
    if (!name) throw usage(`no other device name was given: ${fix}`);
    try {
      return checkName(name, "the name");
    } catch (error) {
      if (tries >= TRIES) throw error;
      say(io, (error as Error).message);
    }
  }
}

const NAME = /^[A-Za-z0-9_-]{1,25}$/;

function checkName(name: string, what: string): string {
  if (!NAME.test(name)) {
    throw usage(
      `${what} "${name}" is not a device name: use 1 to 25 of A-Z, a-z, 0-9, _ and -`,
    );
  }
  return name;
}

/** The server says the name belongs to another device of the account. */
function isTaken(error: unknown): boolean {
  return error instanceof PushoverError &&
    !(error instanceof LoginRequiredError) &&
    error.errors.some((text) => /taken/i.test(text));
}

/** A 4xx answer to the login (not a rate limit): the e-mail or password. */
function isRefusal(error: unknown): boolean {
  return error instanceof PushoverError && error.status !== undefined &&
    error.status >= 400 && error.status < 500 && error.status !== 429;
}

/**
 * A new device's queue holds its welcome and nothing it was sent for:
 * cleared, as Pushover's guide for Open Clients says, so `listen` can
 * deliver everything queued from now on.
 */
async function deleteBacklog(device: Device, api: RequestOptions) {
  const { messages } = await downloadMessages(device, api);
  const last = messages.at(-1);
  if (last) await deleteThrough(device, last, api);
}
