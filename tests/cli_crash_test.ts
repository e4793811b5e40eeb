// Crash safety of `listen` with its inbox, proven: the listener is killed
// (SIGKILL: no cleanup of any kind) at random moments of a burst of 1,000
// messages, again and again. After every restart each message is in the
// inbox exactly once, stdout saw each at least once and in order, and the
// server's queue drains — nothing lost, nothing kept twice.

import assert from "node:assert/strict";
import process from "node:process";
import { openInbox } from "../inbox/mod.ts";
import { cliTest } from "./_cli.ts";
import { queued } from "./_setup.ts";

/** Messages in the burst. */
const BURST = 1_000;
/** Kills at least this many times. */
const KILLS = 30;

/** A small seeded generator: the same moments on every run of a seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

cliTest(
  `listen killed with SIGKILL ${KILLS} times during a burst of ${BURST} messages loses none and keeps none twice`,
  async (context) => {
    const seed = Number(process.env.CRASH_SEED ?? 20261205);
    const next = random(seed);
    const device = await context.seed();
    const texts = Array.from(
      { length: BURST },
      (_, i) => `m${String(i).padStart(4, "0")}`,
    );
    /** Each run's stdout lines, in the order printed. */
    const runs: string[][] = [];
    let kills = 0;
    let sent = 0;
    const inboxPath = `${context.dir}/inbox.sqlite`;
    const done = (current: string[] = []) =>
      sent === BURST && queued(context.server, device).length === 0 &&
      new Set([...runs.flat(), ...current]).size === BURST;
    // The last run ends cleanly: a killed one may leave stdout owing what it
    // printed last (up to COMMIT_AFTER, 16), which the next run prints again.
    let endedCleanly = false;
    for (let run = 0; !done() || kills < KILLS || !endedCleanly; run++) {
      if (run > KILLS * 4) assert.fail(`not done after ${run} runs`);
      // This run's login, once the fake has taken it: before that, a
      // message gets no '!' on this socket (the fake sends no keep-alive
      // here, whose first frame would bring a download).
      const from = context.server.log.entries.length;
      const child = context.startProcess([
        "listen",
        "--inbox",
        inboxPath,
        "--json",
      ]);
      try {
        await context.server.log.waitFor(
          (e) => e.kind === "socket" && e.event === "login",
          from,
        );
        // Messages keep coming while it runs: the burst spread over the
        // killed runs, so that every kill falls within it.
        const batch = texts.slice(sent, sent + Math.ceil(BURST / KILLS));
        for (const message of batch) context.server.send({ message });
        sent += batch.length;
        if (kills < KILLS) {
          // Killed after a random number of lines, from none (at once) to
          // all it owes: each run prints at least what no run printed yet.
          const owed = sent - new Set(runs.flat()).size;
          const lines = Math.floor(next() * (owed + 1));
          for (let i = 0; i < lines; i++) {
            await child.waitFor("stdout", '"message":"m').catch(
              async (error) => {
                const inbox = await openInbox(inboxPath);
                const state = JSON.stringify({
                  run,
                  kills,
                  sent,
                  owed,
                  lines,
                  printedNow: i,
                  seen: new Set(runs.flat()).size,
                  stats: inbox.stats(),
                  queued: queued(context.server, device).length,
                });
                inbox.close();
                throw new Error(`${(error as Error).message}\n${state}`);
              },
            );
          }
          await child.kill(); // SIGKILL
          kills++;
        } else {
          // The last run ends cleanly, once everything was printed and the
          // queue drained (looked at after each line, or each few ms).
          // Every message seen may still leave stdout owing what a killed
          // run printed but had not yet committed (up to COMMIT_AFTER, 16): this run
          // prints that again first, and only then is it all taken.
          const all = async () => {
            if (!done(printed(child.output().stdout))) return false;
            const inbox = await openInbox(inboxPath);
            try {
              const stdout = inbox.stats().sinks.find((s) =>
                s.name === "stdout"
              );
              return stdout?.behind === 0;
            } finally {
              inbox.close();
            }
          };
          const started = Date.now();
          while (!await all()) {
            if (Date.now() - started > 60_000) assert.fail("never drained");
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          child.signal("SIGTERM");
          endedCleanly = true;
        }
        await child.exited;
      } finally {
        await child.kill();
        runs.push(printed(child.output().stdout));
      }
    }
    assert.ok(kills >= KILLS, `${kills} kills`);
    // The inbox: each message exactly once, in the order sent.
    const inbox = await openInbox(inboxPath);
    try {
      const kept = inbox.history({ order: "oldest", limit: BURST * 2 })
        .map((stored) => stored.message.message);
      assert.deepEqual(kept, texts, "in the inbox once each, in order");
      assert.equal(
        inbox.stats().sinks.find((s) => s.name === "stdout")?.behind,
        0,
      );
    } finally {
      inbox.close();
    }
    // stdout: every message at least once; within each run in order, and
    // each run starting at or before where the last one got to.
    const seen = new Set<string>();
    for (const lines of runs) {
      assert.deepEqual(lines, [...lines].sort(), "in order within a run");
      if (lines.length > 0) {
        const first = texts.indexOf(lines[0]);
        assert.ok(
          first <= seen.size,
          `a run started at ${lines[0]} with ${seen.size} seen: a gap`,
        );
      }
      for (const line of lines) seen.add(line);
    }
    assert.equal(seen.size, BURST, "stdout saw every message");
    assert.deepEqual(queued(context.server, device), [], "the queue drained");
  },
  // Thirty-odd processes started one after another: on a loaded machine
  // (two test commands side by side on two cores) each start can take
  // seconds. The limit only ends a hang.
  { timeout: 900_000 },
);

/** The messages of complete JSON lines (a kill may cut the last one). */
function printed(stdout: string): string[] {
  return stdout.split("\n").filter((line) => line.endsWith("}")).map((line) =>
    JSON.parse(line).message
  ).filter((message: string) => message.startsWith("m"));
}
