/**
 * What the inbox costs and gives, on the runtime running this script:
 *
 * - receiving a backlog of `--backlog` messages (10,000) from the fake into
 *   an inbox file, against the same stream with a handler that only counts —
 *   the ratio is the inbox's cost on the receiving path (each batch
 *   committed and synced). Twice: with the fake in this process (its
 *   in-process transport: the floor, where the stream's own work is all
 *   there is to compare with), and, given the bench server's JSON line,
 *   with the fake in its own process over loopback, as a server is. With
 *   the time inside `accept()`, the inbox's own share: the ratio's other
 *   side, the stream alone, moves by up to half between runs;
 * - full-text search over `--stored` messages (100,000): the median of 50
 *   searches for a word in about 1 % of them, 20 results each;
 * - the first page of history (20, newest first) over the same inbox;
 * - bytes per stored message (the file, after a checkpoint).
 *
 * Prints one JSON line.
 *
 *   <runtime> bench/inbox_bench.ts ['<bench/server.ts JSON line>'] [--backlog 10000] [--stored 100000] [--runs 8]
 *
 * @module
 */

import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { PassThrough, Writable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { login, registerDevice, streamMessages } from "../mod.ts";
import type { Message } from "../mod.ts";
import { openInbox, openSqliteFile, receive } from "../inbox/mod.ts";
import { Inbox } from "../inbox/store.ts";
import { startFakeServer } from "../testing/mod.ts";
import { main } from "../cli/main.ts";
import { stringifyCredentials } from "../lib/credentials.ts";
import { runtimeName, type ServerInfo } from "./bench_server.ts";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const BACKLOG = option("backlog", 10_000);
const info = process.argv.find((a) => a.startsWith("{"));
const remote: ServerInfo | undefined = info ? JSON.parse(info) : undefined;
const STORED = option("stored", 100_000);
const RUNS = option("runs", 8);
const dir = mkdtempSync(join(tmpdir(), "inbox-bench-"));

/** A device with BACKLOG messages queued, and how to stream from there. */
interface Source {
  device: { deviceId: string; secret: string };
  options: Parameters<typeof streamMessages>[1];
  close(): Promise<void>;
}

/** The fake in this process, through its in-process transport. */
async function inProcessSource(run: number): Promise<Source> {
  const email = `bench${run}@example.com`;
  const server = await startFakeServer({
    listen: false,
    keepAliveInterval: 0,
    accounts: [{ email, password: "pw" }],
  });
  const net = { apiUrl: server.apiUrl, fetch: server.fetch };
  const session = await login({ email, password: "pw" }, net);
  const device = await registerDevice(session, `bench-${run}`, net);
  for (let i = 0; i < BACKLOG - 1; i++) {
    server.send({ message: `backlog message ${i} about the disk` });
  }
  return {
    device,
    options: {
      ...net,
      websocketUrl: server.websocketUrl,
      WebSocket: server.WebSocket,
    },
    close: () => server.close(),
  };
}

/** The bench server in its own process, over loopback. */
async function remoteSource(run: number, at: ServerInfo): Promise<Source> {
  const api = { apiUrl: at.apiUrl };
  const session = await login(
    { email: "burst@bench.example", password: "bench" },
    api,
  );
  const name = `inbox-${process.pid % 100_000}-${run}`;
  const device = await registerDevice(session, name, api);
  const sent = await fetch(`${at.controlUrl}/send`, {
    method: "POST",
    body: new URLSearchParams({
      message: "backlog message about the disk",
      count: String(BACKLOG - 1),
      device: name,
      user: "burst@bench.example",
    }),
  });
  await sent.body?.cancel();
  return {
    device,
    options: { ...api, websocketUrl: at.websocketUrl },
    close: () => Promise.resolve(),
  };
}

/**
 * ms to stream a backlog of BACKLOG, handled by `handle`; with the inbox,
 * also the ms inside `accept()` (the commit the delete waits for): the
 * inbox's own share, which the stream's run-to-run spread does not move.
 */
async function receiveBacklog(
  handle: "count" | "inbox",
  run: number,
  at?: ServerInfo,
): Promise<{ ms: number; acceptMs: number }> {
  const { device, options, close } = at
    ? await remoteSource(run, at)
    : await inProcessSource(run);
  const inbox = handle === "inbox"
    // One inbox for every run, as a receiver's is: its file and its write-
    // ahead log already there, each run a device of its own.
    ? await openInbox(join(dir, "receive.sqlite"))
    : undefined;
  const stop = new AbortController();
  let count = 0;
  const stream = streamMessages(device, { ...options, signal: stop.signal });
  const started = performance.now();
  let ended = 0;
  let acceptMs = 0;
  const take = (messages: readonly Message[]) => {
    count += messages.length;
    if (count >= BACKLOG) {
      ended = performance.now();
      stop.abort();
    }
  };
  if (inbox) {
    // Done when the last batch is committed: where the server's delete may
    // go out. (Filing each message follows; `listen` below counts it.)
    const accepting = inbox.accept.bind(inbox);
    inbox.accept = (id, messages) => {
      const accepted = performance.now();
      accepting(id, messages);
      acceptMs += performance.now() - accepted;
      take(messages);
    };
    await receive(stream, inbox, device).catch(() => {});
    inbox.close();
  } else {
    await stream.forEachBatch(take).catch(() => {});
  }
  await close();
  return { ms: ended - started, acceptMs };
}

/**
 * ms until `listen` printed a backlog of BACKLOG to stdout, one line each,
 * with its inbox (the default: received into it, then printed by its stdout
 * sink) or with `--no-inbox` (printed as received): what a user of the
 * command line sees the inbox cost. Runs the CLI's main() in this process;
 * every inbox run receives into the same inbox file, as a receiver's does.
 */
async function listenBacklog(
  inbox: boolean,
  run: number,
  at: ServerInfo,
): Promise<number> {
  const { device } = await remoteSource(run, at);
  const config = join(dir, `listen-${run}.json`);
  writeFileSync(
    config,
    stringifyCredentials({
      device,
      deviceName: `listen-${run}`,
      apiUrl: at.apiUrl,
      websocketUrl: at.websocketUrl,
    }),
    { mode: 0o600 },
  );
  const stop = new AbortController();
  let lines = 0;
  let ended = 0;
  const stdout = new Writable({
    write(chunk, _encoding, done) {
      for (const byte of chunk as Uint8Array) if (byte === 10) lines++;
      if (lines >= BACKLOG && !ended) {
        ended = performance.now();
        stop.abort();
      }
      done();
    },
  });
  const started = performance.now();
  await main(["listen", "--config", config, ...(inbox ? [] : ["--no-inbox"])], {
    env: {
      ...process.env,
      XDG_DATA_HOME: join(dir, "listen-data"),
      XDG_STATE_HOME: join(dir, "listen-state"),
      XDG_CACHE_HOME: join(dir, "listen-cache"),
    },
    stdin: new PassThrough(),
    stdout,
    stderr: new Writable({ write: (_chunk, _encoding, done) => done() }),
    signal: stop.signal,
  });
  if (!ended) throw new Error(`listen printed ${lines} of ${BACKLOG} lines`);
  return ended - started;
}

/** `listenBacklog()`'s medians, alternating as receiveRuns() does. */
async function listenRuns(at: ServerInfo) {
  const plain: number[] = [];
  const kept: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const base = 2000 + 2 * run;
    if (run % 2 === 0) {
      plain.push(await listenBacklog(false, base, at));
      kept.push(await listenBacklog(true, base + 1, at));
    } else {
      kept.push(await listenBacklog(true, base + 1, at));
      plain.push(await listenBacklog(false, base, at));
    }
  }
  return { plain: median(plain), inbox: median(kept) };
}

/** A stored message, made up: one in a hundred mentions "furnace". */
function made(i: number): Message {
  const id = String(i + 1);
  return {
    id: i + 1,
    id_str: id,
    umid: i + 1,
    umid_str: id,
    aid: 1,
    aid_str: "1",
    app: ["Backup", "Alarm", "Thermostat", "Mail"][i % 4],
    icon: "x",
    date: 1_700_000_000 + i,
    priority: (i % 5) - 2,
    acked: 0,
    title: `Report ${i}`,
    message: `${
      i % 100 === 0 ? "the furnace stopped" : "all quiet"
    } — reading ${i} of sensor ${i % 37}, nothing else to say here`,
  } as Message;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Medians of RUNS runs each, alternating, so that neither side always runs
 * warmer (on a 2-core machine one run in four is off by a third either way).
 */
async function receiveRuns(at?: ServerInfo) {
  const plain: number[] = [];
  const kept: { ms: number; acceptMs: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const base = at ? 1000 : 0;
    const count = async () =>
      plain.push((await receiveBacklog("count", base + run, at)).ms);
    const keep = async () =>
      kept.push(await receiveBacklog("inbox", base + run + 100, at));
    if (run % 2 === 0) {
      await count();
      await keep();
    } else {
      await keep();
      await count();
    }
  }
  return {
    plain: median(plain),
    inbox: median(kept.map((k) => k.ms)),
    accept: median(kept.map((k) => k.acceptMs)),
  };
}

const inProcess = await receiveRuns();
const overLoopback = remote ? await receiveRuns(remote) : undefined;
const listening = remote ? await listenRuns(remote) : undefined;

const path = join(dir, "stored.sqlite");
const driver = await openSqliteFile(path);
const inbox = new Inbox(driver);
for (let i = 0; i < STORED; i += 1_000) {
  inbox.add(
    "bench",
    Array.from({ length: Math.min(1_000, STORED - i) }, (_, j) => made(i + j)),
  );
}
const searches: number[] = [];
for (let i = 0; i < 50; i++) {
  const started = performance.now();
  const found = inbox.history({ text: "furnace", limit: 20 });
  searches.push(performance.now() - started);
  if (found.length !== 20) throw new Error(`found ${found.length}`);
}
const pages: number[] = [];
for (let i = 0; i < 50; i++) {
  const started = performance.now();
  inbox.history({ limit: 20 });
  pages.push(performance.now() - started);
}
const firstPageStarted = performance.now();
inbox.close();
// A cold first page, as `history` opens the file and reads.
const reopened = await openInbox(path);
reopened.history({ limit: 20 });
const coldPageMs = performance.now() - firstPageStarted;
reopened.close();
const bytes = statSync(path).size;
rmSync(dir, { recursive: true, force: true });

console.log(JSON.stringify({
  runtime: runtimeName(),
  backlog: BACKLOG,
  receiveMs: inProcess,
  receiveRatio: inProcess.inbox / inProcess.plain,
  ...(overLoopback
    ? {
      receiveOverLoopbackMs: overLoopback,
      receiveOverLoopbackRatio: overLoopback.inbox / overLoopback.plain,
    }
    : {}),
  ...(listening
    ? { listenMs: listening, listenRatio: listening.inbox / listening.plain }
    : {}),
  stored: STORED,
  searchMedianMs: median(searches),
  pageMedianMs: median(pages),
  coldFirstPageMs: coldPageMs,
  bytesPerMessage: bytes / STORED,
}));
process.exit(0);
