// `listen` (the default): deliver each message as it arrives, to stdout and
// the hooks asked for; a message is deleted only once all of them took it.

import {
  LoginRequiredError,
  needsAcknowledgement,
  SessionReplacedError,
  streamMessages,
} from "../mod.ts";
import type { Message, MessageStream, StreamStatus, UserInfo } from "../mod.ts";
import { Acknowledger } from "./_acknowledger.ts";
import {
  type Context,
  defineCommand,
  type Env,
  type Net,
  type Parsed,
} from "./_command.ts";
import { CliError, EXIT, usage } from "./_fail.ts";
import { type Io, say } from "./_io.ts";
import { loadKey, readCredentials } from "./_files.ts";
import { formatLine, headline, oneLine, toJson } from "./_format.ts";
import { execHook, type Hook, HookFailed, webhookHook } from "./_hooks.ts";
import { DesktopNotifier, probeNotifySend } from "./_notify.ts";
import {
  API_FLAG,
  CONFIG_FLAG,
  configPath,
  type Endpoints,
  endpoints,
  parseCount,
  parseDuration,
  parsePriority,
  urlFlags,
  WEBSOCKET_FLAG,
} from "./_options.ts";
import { Output, OutputClosed, OutputStopped } from "./_output.ts";
import {
  defaultInboxPath,
  defaultStatusPath,
  iconCacheDir,
  webTokenPath,
} from "./_paths.ts";
import { INBOX_FLAG, openInboxFile } from "./_inbox.ts";
import { ListenerState } from "./_listener_state.ts";
import { watchOffline } from "./_offline_hook.ts";
import { startWebApp } from "./_web_app.ts";
import { type Address, parseAddress } from "./_web_server.ts";
import {
  claimInbox,
  deliverThroughInbox,
  type Sink,
} from "./_through_inbox.ts";
import type { Prompt } from "./_prompt.ts";
import { HOOK_RETRY, untilDone } from "./_retrying.ts";
import { StatusFile } from "./_status_file.ts";
import { suggest } from "./_program.ts";

const FLAGS = {
  json: {
    type: "boolean",
    section: "Output",
    help:
      "one JSON object per line (NDJSON); 64-bit ids (id, umid, aid) only as exact strings",
  },
  exec: {
    type: "string",
    value: "CMD",
    help:
      "run `sh -c CMD` for each message: the message in PUSHOVER_ID, PUSHOVER_TITLE, PUSHOVER_MESSAGE, PUSHOVER_APP, PUSHOVER_PRIORITY, PUSHOVER_URL, PUSHOVER_URL_TITLE, PUSHOVER_RECEIPT, PUSHOVER_DATE, PUSHOVER_JSON, and as JSON on stdin; its output goes to stderr. Handled when CMD exits 0, else retried",
  },
  "exec-timeout": {
    type: "string",
    value: "DUR",
    help: "kill a hook running longer (default 60s)",
  },
  webhook: {
    type: "string",
    value: "URL",
    help:
      "POST the JSON to URL; handled on a 2xx, else retried (Retry-After honoured); Basic credentials from PUSHOVER_WEBHOOK_AUTH=user:password, never in URL",
  },
  "retry-delay": {
    type: "string",
    value: "MIN[,MAX]",
    help: "waits between a hook's tries (default 1s,5m)",
  },
  notify: {
    type: "boolean",
    help:
      'desktop notifications (notify-send): urgency from the priority, quiet hours honoured, silent (-2) skipped, "Acknowledge" on emergencies',
  },
  ack: {
    type: "boolean",
    help:
      "ask on the terminal to acknowledge emergencies (without holding up later messages)",
  },
  "min-priority": {
    type: "string",
    value: "N",
    section: "Which messages",
    help: "only priority N (-2 to 2) and above",
  },
  app: {
    type: "string",
    multiple: true,
    value: "NAME",
    help: "only from app NAME (repeatable)",
  },
  backlog: {
    type: "string",
    value: "MODE",
    help:
      "what was queued before the start: deliver (default), skip, or max-age=DUR (deliver what is younger). Messages left out by these flags are deleted like the others.",
  },
  inbox: { ...INBOX_FLAG.inbox, section: "The inbox" },
  "no-inbox": {
    type: "boolean",
    help:
      "keep no inbox: each message is handed on once and deleted (as before the inbox)",
  },
  keep: {
    type: "string",
    value: "DUR",
    help: "keep messages this long (default 90d)",
  },
  "keep-count": {
    type: "string",
    value: "N",
    help:
      "keep at most N messages (default 100000); what a hook has not taken yet is kept either way, and said",
  },
  "max-attempts": {
    type: "string",
    value: "N",
    help:
      "tries of one message per hook before it is set aside as a dead letter (default 20: about an hour); see history --failed, retry",
  },
  http: {
    type: "string",
    value: "ADDR",
    section: "Web page and health",
    help:
      "serve the inbox as a web page, with /healthz and /metrics, on [HOST:]PORT (127.0.0.1 unless HOST; port 0 picks one); the URL with its access token is printed once on a terminal, else the token goes to a 0600 file in the state folder (web-token)",
  },
  public: {
    type: "boolean",
    help: "let --http listen on an address other than loopback",
  },
  "on-offline": {
    type: "string",
    value: "CMD",
    help:
      "run `sh -c CMD` once after --offline-after offline (PUSHOVER_STATE=offline), and once when back (PUSHOVER_STATE=online)",
  },
  "offline-after": {
    type: "string",
    value: "DUR",
    help: "how long offline before --on-offline runs (default 60s)",
  },
  "e2ee-key-file": {
    type: "string",
    value: "PATH",
    section: "Files and service",
    help:
      "the end-to-end key (64 hexadecimal characters, file mode 0600); saved beside the credentials. A message it cannot decrypt is kept as it came and set aside for the hooks (retry hands it over decrypted once the key is right); with --no-inbox it stops the listener (exit 2) and stays queued, unless --deliver-undecryptable",
  },
  "deliver-undecryptable": {
    type: "boolean",
    help: "hand on a message that cannot be decrypted as it came",
  },
  "status-file": {
    type: "string",
    value: "PATH",
    help: (env: Env) =>
      `state, last message and last error, rewritten on each change (default\u00a0${
        defaultStatusPath(env)
      })`,
  },
  ...CONFIG_FLAG,
  ...API_FLAG,
  ...WEBSOCKET_FLAG,
} as const;

/** A line break or escape: none belongs in credentials, nor in a unit's file. */
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** The listener's settings, from the flags, checked. */
export interface ListenOptions {
  json: boolean;
  exec: string | undefined;
  /** How long a hook may take, in ms. */
  hookTimeout: number;
  webhook: URL | undefined;
  /** PUSHOVER_WEBHOOK_AUTH: the webhook's Basic credentials. */
  webhookAuth: string | undefined;
  retry: typeof HOOK_RETRY;
  notify: boolean;
  ack: boolean;
  minPriority: number;
  apps: Set<string> | undefined;
  backlog: "deliver" | "skip";
  maxAge: number | undefined;
  keyFile: string | undefined;
  deliverUndecryptable: boolean;
  /** The inbox file; undefined with --no-inbox. */
  inbox: string | undefined;
  retention: { maxAge: number; maxCount: number };
  maxAttempts: number;
  statusFile: string;
  /** --http: the web page's address. */
  http: Address | undefined;
  /** --public: a non-loopback --http allowed. */
  isPublic: boolean;
  /** --on-offline's command, and after how long (ms). */
  onOffline: { command: string; after: number } | undefined;
  /** The credentials file. */
  config: string;
  /** `--config` as given, for hints. */
  configFlag: string | undefined;
  urls: Endpoints;
}

/** `listen` (also what runs without a command). */
export const listen = defineCommand({
  name: "listen",
  usage: ["[options]"],
  about:
    `Prints each message as one line (or JSON) as it arrives, and hands it to
the hooks asked for. A message is deleted from the server only once it was
printed and every hook took it: nothing is lost while the listener is down
or a hook fails. When the reader of stdout goes away the listener stops;
what a pipe had taken in before counts as delivered, so use --exec or
--webhook when every message must reach its consumer.`,
  flags: FLAGS,
  footer: "Durations: 90 (seconds), 30s, 5m, 2h, 1d.",
  options: listenOptions,
  run: listenUntilStopped,
});

function listenOptions(
  { values }: Parsed<typeof FLAGS>,
  env: Env,
): ListenOptions {
  const hookTimeout = parseDuration(
    values["exec-timeout"] ?? "60s",
    "--exec-timeout",
  );
  if (values.exec !== undefined && values.exec.trim() === "") {
    throw usage("--exec: the command is empty");
  }
  const webhookAuth = env.PUSHOVER_WEBHOOK_AUTH || undefined;
  if (
    values.webhook !== undefined && webhookAuth !== undefined &&
    (!webhookAuth.includes(":") || CONTROL_CHARACTER.test(webhookAuth))
  ) {
    throw usage(
      "PUSHOVER_WEBHOOK_AUTH must be user:password (the webhook's Basic credentials)",
    );
  }
  let retry = HOOK_RETRY;
  if (values["retry-delay"] !== undefined) {
    const [min, max = min] = values["retry-delay"].split(",").map((part) =>
      parseDuration(part, "--retry-delay")
    );
    if (max < min) throw usage("--retry-delay: MAX is below MIN");
    retry = { min, max, resetAfter: 0 };
  }
  const minPriority = values["min-priority"] === undefined
    ? -2
    : parsePriority(values["min-priority"], "--min-priority");
  // `--app "$APP"` with APP unset gives "": no app has that name, and every
  // message would be deleted unseen.
  if (values.app?.some((name) => name.trim() === "")) {
    throw usage(
      "--app: the name is empty; give an application's name as it shows in messages",
    );
  }
  const backlog = values.backlog ?? "deliver";
  let maxAge: number | undefined;
  if (backlog.startsWith("max-age=")) {
    maxAge = parseDuration(
      backlog.slice("max-age=".length),
      "--backlog max-age",
    );
  } else if (backlog !== "deliver" && backlog !== "skip") {
    throw usage(
      `--backlog: '${backlog}' is not a mode; use deliver, skip or max-age=DURATION`,
    );
  }
  return {
    json: values.json === true,
    exec: values.exec,
    hookTimeout,
    webhook: values.webhook === undefined
      ? undefined
      : checkWebhook(values.webhook),
    webhookAuth,
    retry,
    notify: values.notify === true,
    ack: values.ack === true,
    minPriority,
    apps: values.app ? new Set(values.app) : undefined,
    backlog: backlog === "skip" ? "skip" : "deliver",
    maxAge,
    keyFile: values["e2ee-key-file"],
    deliverUndecryptable: values["deliver-undecryptable"] === true,
    inbox: values["no-inbox"]
      ? noInbox(values.inbox)
      : values.inbox ?? defaultInboxPath(env),
    retention: {
      maxAge: parseDuration(values.keep ?? "90d", "--keep", YEARS),
      maxCount: parseCount(values["keep-count"] ?? "100000", "--keep-count"),
    },
    maxAttempts: parseCount(values["max-attempts"] ?? "20", "--max-attempts"),
    statusFile: values["status-file"] ?? defaultStatusPath(env),
    ...webOptions(values, values["no-inbox"] === true),
    config: configPath(values, env),
    configFlag: values.config,
    urls: urlFlags(values),
  };
}

/** --http, --public, --on-offline and --offline-after, checked. */
function webOptions(
  values: Parsed<typeof FLAGS>["values"],
  noInbox: boolean,
): Pick<ListenOptions, "http" | "isPublic" | "onOffline"> {
  const isPublic = values.public === true;
  const http = values.http === undefined
    ? undefined
    : parseAddress(values.http);
  if (http && noInbox) {
    throw usage("--http shows the inbox: drop --no-inbox");
  }
  if (isPublic && !http) throw usage("--public goes with --http");
  if (http && !http.loopback && !isPublic) {
    throw usage(
      `--http ${values.http}: not a loopback address; add --public to serve your messages to the network (a token is still required)`,
    );
  }
  if (values["on-offline"] !== undefined && !values["on-offline"].trim()) {
    throw usage("--on-offline: the command is empty");
  }
  if (values["offline-after"] !== undefined && !values["on-offline"]) {
    throw usage("--offline-after goes with --on-offline");
  }
  return {
    http,
    isPublic,
    onOffline: values["on-offline"] === undefined ? undefined : {
      command: values["on-offline"],
      after: parseDuration(values["offline-after"] ?? "60s", "--offline-after"),
    },
  };
}

/** `--no-inbox` with `--inbox` says two opposite things. */
function noInbox(inbox: string | undefined): undefined {
  if (inbox !== undefined) {
    throw usage("--inbox and --no-inbox: give one of them");
  }
  return undefined;
}

/** Durations of retention may run to years. */
const YEARS = 100 * 365 * 86_400_000;

/** The hooks a message goes through, in order, by their inbox names. */
function hooksFor(
  options: ListenOptions,
  io: Io,
  net: Net,
): { name: string; hook: Hook }[] {
  const hooks: { name: string; hook: Hook }[] = [];
  if (options.exec !== undefined) {
    hooks.push({
      name: "exec",
      hook: execHook(options.exec, options.hookTimeout, io),
    });
  }
  if (options.webhook !== undefined) {
    hooks.push({
      name: "webhook",
      hook: webhookHook(
        options.webhook,
        options.hookTimeout,
        options.webhookAuth,
        net.fetch,
      ),
    });
  }
  return hooks;
}

/**
 * Ports `fetch()` will not connect to: the Fetch standard's "bad ports"
 * (Deno and Node refuse them, as browsers do). A webhook on one would fail
 * every time as a network error, which says nothing of why.
 */
const BAD_PORTS = new Set(
  `1 7 9 11 13 15 17 19 20 21 22 23 25 37 42 43 53 69 77 79 87 95 101 102 103
  104 109 110 111 113 115 117 119 123 135 137 139 143 161 179 389 427 465 512
  513 514 515 526 530 531 532 540 548 554 556 563 587 601 636 989 990 993 995
  1719 1720 1723 2049 3659 4045 4190 5060 5061 6000 6566 6665 6666 6667 6668
  6669 6679 6697 10080`.split(/\s+/).map(Number),
);

/**
 * `--webhook`'s URL, checked: http(s), a port `fetch()` connects to, and no
 * credentials in it. A URL that does not parse is not shown (it may hold a
 * password).
 */
function checkWebhook(given: string): URL {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw usage(
      "--webhook: the value is not a URL (not shown: it may hold a password)",
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw usage(
      `--webhook: ${url.protocol}// is not http(s); give an http:// or https:// URL`,
    );
  }
  if (BAD_PORTS.has(Number(url.port))) {
    throw usage(
      `--webhook: fetch() does not connect to port ${url.port} (a "bad port" of the Fetch standard, kept for other protocols); give the webhook another port`,
    );
  }
  if (url.username || url.password) {
    throw usage(
      "--webhook: the URL holds a user name or password, which every user of this machine can read in the process list (and a service's unit); give them as PUSHOVER_WEBHOOK_AUTH=user:password instead",
    );
  }
  return url;
}

/** Runs `listen` until stopped; returns the exit code. */
async function listenUntilStopped(
  settings: ListenOptions,
  { io, prompt, signal, net }: Context,
): Promise<number> {
  const hooks = hooksFor(settings, io, net);
  const path = settings.config;
  const saved = await readCredentials(path, settings.configFlag);
  const urls = endpoints(settings.urls, saved);
  const api = { ...urls, ...net };
  const encryptionKey = await loadKey(settings.keyFile, path);
  const startedAt = Date.now();
  const tell = (line: string) => say(io, line);
  const status = new StatusFile(settings.statusFile, saved.deviceName);
  // With an inbox, an acknowledgement marks the message there too.
  let acknowledgedHere = (_message: Message) => {};
  const acknowledger = new Acknowledger({
    device: saved.device,
    api,
    signal,
    say: tell,
    policy: settings.retry,
    acknowledged: (message) => acknowledgedHere(message),
  });
  let notifier: DesktopNotifier | undefined;
  /** Whether notifications carry an "Acknowledge" button. */
  let notifierAcknowledges = false;
  if (settings.notify) {
    const probe = await probeNotifySend(io.env);
    if (probe) {
      notifierAcknowledges = probe.actions;
      notifier = new DesktopNotifier({
        cacheDir: iconCacheDir(io.env),
        env: io.env,
        assetUrl: new URL(urls.apiUrl ?? "https://api.pushover.net/1").origin,
        fetch: net.fetch,
        actions: probe.actions,
        onAcknowledge: (message) => acknowledger.acknowledge(message),
        onError: tell,
      });
    } else {
      tell("notify-send was not found (install libnotify-bin): printing only");
    }
  }
  let user: UserInfo | undefined;
  // Ends a hook's retries when the user stops the listener or the stream
  // stops for good (the device refused: E, or taken over: A); the message
  // then stays queued, and the stream's own error says why.
  const handling = new AbortController();
  let streamFailure: { error: unknown } | undefined;
  const reportStatus = statusReporter(tell, (change) => {
    if (change.user) user = change.user;
    void status.update(change.update);
  });
  // What /healthz, /metrics and --on-offline read.
  const listenerState = new ListenerState();
  const stopWatchingOffline = settings.onOffline
    ? watchOffline(listenerState, { ...settings.onOffline, io, tell })
    : () => {};
  const onStatus = (change: StreamStatus) => {
    listenerState.status(change);
    if (change.state === "stopped" && change.reason === "failed") {
      streamFailure = { error: change.error };
      handling.abort();
    }
    reportStatus(change);
  };

  const output = new Output(io.stdout);
  const lineOf = (message: Message) =>
    settings.json ? JSON.stringify(toJson(message)) : formatLine(message);
  const wanted = (message: Message) =>
    message.priority >= settings.minPriority &&
    (!settings.apps || settings.apps.has(message.app)) &&
    // When the server queued it, not the sender's `date` (any timestamp);
    // in whole seconds, as the server gives it: a message queued in the
    // second the limit falls in is delivered (when in doubt, deliver).
    (settings.maxAge === undefined ||
      (message.queued_date ?? message.date) >=
        Math.floor((startedAt - settings.maxAge) / 1000));

  /** Prints and hands on one message; false when stopped meanwhile. */
  const deliver = async (message: Message): Promise<boolean> => {
    // A waiting --ack question gets a line of its own again after this.
    await prompt.around(() => output.line(lineOf(message), handling.signal));
    const unreadable = message.e2ee === "encrypted" ||
      message.e2ee === "failed";
    if (unreadable && !settings.deliverUndecryptable) {
      // Deleting it would lose its text for good: stop, leave it queued.
      throw new CliError(
        `message ${message.id_str} is end-to-end encrypted and ${
          message.e2ee === "encrypted"
            ? "no key is set"
            : "the key does not decrypt it"
        }; it stays on the server: pass --e2ee-key-file with the sender's key, or --deliver-undecryptable to hand such messages on as they came`,
        EXIT.usage,
      );
    }
    for (const { hook } of hooks) {
      let done: boolean;
      try {
        done = await untilDone(
          () => hook(message, handling.signal),
          handling.signal,
          ({ delay, reason }) =>
            tell(
              `message ${message.id_str}: ${reason}; trying again in ${
                Math.ceil(delay / 1000)
              } s`,
            ),
          settings.retry,
          (error) => error instanceof HookFailed && error.final,
        );
      } catch (error) {
        throw new CliError(
          `message ${message.id_str}: ${
            (error as Error).message
          }; trying again cannot help: it stays on the server`,
        );
      }
      if (!done) return false;
    }
    void status.update({ lastMessageAt: new Date().toISOString() });
    await notifier?.notify(message, user);
    offerAcknowledgement(message);
    return true;
  };

  /** After an emergency is shown: the --ack question, or how to ack it. */
  const offerAcknowledgement = (message: Message) => {
    if (needsAcknowledgement(message)) {
      if (settings.ack) {
        void askToAcknowledge(io, prompt, message, acknowledger);
      } else if (!notifierAcknowledges) {
        // No button to press: the receipt is how to acknowledge it.
        tell(
          `emergency "${
            headline(message)
          }" waits for acknowledgement (receipt ${
            oneLine(message.receipt)
          }): acknowledge it with: ${
            suggest(`ack ${oneLine(message.receipt)}`, settings.configFlag)
          }`,
        );
      }
    }
  };

  /** Each output as a sink of the inbox. */
  const sinks = (): Sink[] => [
    {
      name: "stdout",
      takesUndecryptable: true,
      deliver: async (message, sinkSignal) => {
        await prompt.around(() => output.line(lineOf(message), sinkSignal));
        void status.update({ lastMessageAt: new Date().toISOString() });
        offerAcknowledgement(message);
      },
    },
    ...hooks.map(({ name, hook }) => ({
      name,
      takesUndecryptable: false,
      deliver: hook,
    })),
    ...(notifier
      ? [{
        name: "notify",
        takesUndecryptable: true,
        deliver: (message: Message) => notifier.notify(message, user),
      }]
      : []),
  ];

  /** Receives into the inbox at `path` while its sinks deliver. */
  const receiveIntoInbox = async (path: string, stream: MessageStream) => {
    const inbox = await openInboxFile(path);
    try {
      const release = claimInbox(inbox, path);
      acknowledgedHere = (message) => {
        if (message.receipt) inbox.acknowledged(message.receipt);
      };
      try {
        const stopWeb = settings.http
          ? await startWebApp({
            address: settings.http,
            isPublic: settings.isPublic,
            inbox,
            state: listenerState,
            stream,
            device: saved.device,
            api,
            assetUrl: new URL(urls.apiUrl ?? "https://api.pushover.net/1")
              .origin,
            tokenFile: webTokenPath(io.env),
            terminal: (io.stderr as { isTTY?: boolean }).isTTY === true,
            tell,
          })
          : async () => {};
        try {
          await deliverThroughInbox({
            inbox,
            path,
            deviceId: saved.device.deviceId,
            stream,
            sinks: sinks().map((sink) => counted(sink, listenerState)),
            received: (count) => listenerState.receivedBatch(count),
            wanted,
            retry: settings.retry,
            maxAttempts: settings.maxAttempts,
            retention: settings.retention,
            deliverUndecryptable: settings.deliverUndecryptable,
            encryptionKey,
            handling,
            tell,
            problem: (text) => void status.update({ lastError: text }),
          });
        } finally {
          await stopWeb();
        }
      } finally {
        release();
      }
    } finally {
      inbox.close();
    }
  };

  // On the caller's signal only while this run lasts: a relay runs a
  // device again, on the same signal, after each failure.
  const stopped = () => {
    handling.abort();
    stopWatchingOffline();
  };
  signal.addEventListener("abort", stopped, { once: true });
  try {
    const stream = streamMessages(saved.device, {
      ...api,
      signal,
      backlog: settings.backlog,
      encryptionKey,
      onStatus,
    });
    if (settings.inbox !== undefined) {
      await receiveIntoInbox(settings.inbox, stream);
      if (streamFailure) throw streamFailure.error;
      return EXIT.ok;
    }
    for await (const message of stream) {
      if (!wanted(message)) continue;
      let delivered: boolean;
      try {
        delivered = await deliver(message);
      } catch (error) {
        // Closed first: leaving the loop otherwise counts as handled.
        await stream.close();
        throw error;
      }
      // Stopped while a hook retried: the message stays on the server.
      if (!delivered) {
        await stream.close();
        if (streamFailure) throw streamFailure.error;
        return EXIT.ok;
      }
    }
  } catch (thrown) {
    if (thrown instanceof OutputClosed || signal.aborted) return EXIT.ok;
    // A line cut short by the stream's own stop: the stream's error says why.
    const error = thrown instanceof OutputStopped && streamFailure
      ? streamFailure.error
      : thrown;
    const failure = error instanceof LoginRequiredError
      ? new CliError(
        `the server refused this device${
          saved.deviceName ? ` ("${oneLine(saved.deviceName)}")` : ""
        }: it was deleted or disabled; run "${
          suggest("login", settings.configFlag)
        }" again`,
        EXIT.loginRequired,
      )
      : error instanceof SessionReplacedError
      ? new CliError(
        "another client logged in as this device and took it over; not reconnecting",
        EXIT.sessionReplaced,
      )
      : error;
    // The status file says why it stopped, not only that it did.
    await status.update({
      lastError: failure instanceof Error ? failure.message : String(failure),
    });
    throw failure;
  } finally {
    signal.removeEventListener("abort", stopped);
    stopWatchingOffline();
    await status.update({ state: "stopped" });
  }
  return EXIT.ok;
}

/** `sink`, its deliveries and failures counted for /metrics. */
function counted(sink: Sink, state: ListenerState): Sink {
  return {
    ...sink,
    deliver: async (message, signal) => {
      try {
        await sink.deliver(message, signal);
      } catch (error) {
        state.sinkResult(sink.name, false);
        throw error;
      }
      state.sinkResult(sink.name, true);
    },
  };
}

/** Asks about one emergency; a yes starts acknowledging it. */
async function askToAcknowledge(
  io: Io,
  prompt: Prompt,
  message: Message,
  acknowledger: Acknowledger,
): Promise<void> {
  let answer: string | undefined;
  try {
    answer = await prompt.ask(
      `Acknowledge the emergency "${headline(message)}"? [y/N] `,
    );
  } catch {
    return; // interrupted: the listener is stopping
  }
  if (answer !== undefined && /^y(es)?$/i.test(answer)) {
    acknowledger.acknowledge(message);
  } else say(io, "not acknowledged");
}

/** What a status change means for stderr and the status file. */
function statusReporter(
  say: (line: string) => void,
  changed: (change: {
    update: Parameters<StatusFile["update"]>[0];
    user?: UserInfo;
  }) => void,
): (status: StreamStatus) => void {
  let offline = false;
  return (status) => {
    switch (status.state) {
      case "connected":
        say(offline ? "back online" : "online");
        offline = false;
        changed({ update: { state: "connected" } });
        break;
      case "synced":
        changed({
          update: status.user?.is_desktop_licensed === undefined
            ? {}
            : { desktopLicensed: status.user.is_desktop_licensed },
          user: status.user,
        });
        break;
      case "reconnecting":
      case "retrying": {
        const what = status.state === "reconnecting"
          ? "offline"
          : "sync failed";
        if (!offline || status.state === "retrying") {
          say(
            `${what}: ${status.reason}; retrying in ${
              Math.ceil(status.delay / 1000)
            } s`,
          );
        }
        offline = status.state === "reconnecting" || offline;
        changed({ update: { state: "offline", lastError: status.reason } });
        break;
      }
      case "undecryptable":
        say(`message ${status.id}: ${status.reason}`);
        changed({ update: { lastError: status.reason } });
        break;
      default:
        break;
    }
  };
}
