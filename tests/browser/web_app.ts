/**
 * The local web app (`listen --http`) in the real Chromium: the CLI runs in
 * this process against the fake server; headless Chromium, driven by
 * puppeteer-core, opens the page as a person would. Refused without the
 * token, loaded with it; a message sent through the fake appears live; search
 * finds it; "Mark all read" under a search marks only what it shows;
 * Acknowledge acknowledges on the fake; a hostile message runs
 * nothing and breaks no layout; axe-core finds no serious violation; the
 * screenshots in light and dark are taken — and saved to docs/, which the
 * README shows, only with UPDATE_SCREENSHOTS=1 (a test run leaves the
 * working tree as it found it).
 *
 * Run by `deno task test web` (tests/run_all.ts), with Node 24:
 *
 *   node --test-reporter=spec tests/browser/web_app.ts --chromium /usr/bin/chromium \
 *     --puppeteer .runtimes/puppeteer/node_modules/puppeteer-core/lib/esm/puppeteer/puppeteer-core.js \
 *     --axe .runtimes/axe/node_modules/axe-core/axe.min.js
 *
 * @module
 */

import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { PassThrough, Writable } from "node:stream";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { main } from "../../cli/main.ts";
import { seedDevice } from "../_cli.ts";
import { type FakeServer, startFakeServer } from "../../testing/mod.ts";

function flag(name: string): string {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) throw new Error(`--${name} is required`);
  return process.argv[index + 1];
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The bits of puppeteer-core's API this test uses. */
interface Page {
  goto(url: string): Promise<{ status(): number } | null>;
  url(): string;
  content(): Promise<string>;
  waitForFunction(fn: string, options?: { timeout?: number }): Promise<unknown>;
  evaluate(fn: string): Promise<unknown>;
  type(selector: string, text: string): Promise<void>;
  click(selector: string): Promise<void>;
  setBypassCSP(enabled: boolean): Promise<void>;
  addScriptTag(options: { content: string }): Promise<unknown>;
  emulateMediaFeatures(
    features: { name: string; value: string }[],
  ): Promise<void>;
  setViewport(viewport: { width: number; height: number }): Promise<void>;
  screenshot(options: { path: string }): Promise<unknown>;
  on(event: "pageerror" | "console", listener: (value: unknown) => void): void;
  reload(): Promise<unknown>;
  cookies(): Promise<unknown[]>;
  close(): Promise<void>;
}
interface Browser {
  newPage(): Promise<Page>;
  version(): Promise<string>;
  close(): Promise<void>;
}

let server: FakeServer;
let browser: Browser;
let home: string;
let origin = "";
let token = "";
const stop = new AbortController();
let exited: Promise<number>;
const stderr: string[] = [];

before(async () => {
  server = await startFakeServer({
    keepAliveInterval: 0,
    accounts: [{ email: "page@example.com", password: "pw" }],
  });
  home = await mkdtemp(join(tmpdir(), "web-app-"));
  await seedDevice(
    server,
    join(home, "config", "pushover-open-client", "credentials.json"),
    "desk",
  );
  let webLine!: (line: string) => void;
  const announced = new Promise<string>((resolve) => webLine = resolve);
  exited = main(["listen", "--http", "127.0.0.1:0"], {
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(home, "config"),
      XDG_STATE_HOME: join(home, "state"),
      XDG_DATA_HOME: join(home, "data"),
      XDG_CACHE_HOME: join(home, "cache"),
    },
    stdin: new PassThrough(),
    stdout: new Writable({ write: (_chunk, _encoding, done) => done() }),
    stderr: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) {
          stderr.push(line);
          if (line.startsWith("the web page: ")) webLine(line);
        }
        done();
      },
    }),
    signal: stop.signal,
  });
  const line = await announced;
  origin = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(line)![1];
  token = (await readFile(
    join(home, "state", "pushover-open-client", "web-token"),
    "utf8",
  )).trim();
  await server.waitForLogin();
  const puppeteer = (await import(pathToFileURL(flag("puppeteer")).href))
    .default as {
      launch(options: Record<string, unknown>): Promise<Browser>;
    };
  browser = await puppeteer.launch({
    executablePath: flag("chromium"),
    headless: true,
    pipe: true,
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  console.log(`# ${await browser.version()}`);
}, { timeout: 60_000 });

after(async () => {
  await browser?.close();
  stop.abort();
  await exited;
  await server?.close();
  await rm(home, { recursive: true, force: true });
});

/** A page opened with the token link, as a person opens the printed URL. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.setViewport({ width: 1100, height: 700 });
  // As printed; the older `/?token=` form (the axe test's) is sent here.
  await page.goto(`${origin}/#token=${token}`);
  await page.waitForFunction(
    "document.querySelector('#list') && document.querySelector('#list').children.length > 0",
  );
  return { page, errors };
}

/** The list's titles, top first. */
const titles = (page: Page) =>
  page.evaluate(
    "[...document.querySelectorAll('#list .title')].map((e) => e.textContent)",
  ) as Promise<string[]>;

test("without the token the page shows no message and says what to open; with it, it loads, the token leaves the address bar, and no cookie is kept (a browser sends one to every port of 127.0.0.1)", async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/`);
    await page.evaluate("localStorage.clear()"); // no token from another test
    await page.reload();
    await page.waitForFunction(
      "document.querySelector('#status').textContent.includes('access token is missing or wrong')",
    );
    assert.equal(
      await page.evaluate("document.querySelectorAll('#list .message').length"),
      0,
    );
  } finally {
    await page.close();
  }
  const { page: opened, errors } = await openPage();
  try {
    assert.equal(opened.url(), `${origin}/`);
    assert.deepEqual(await opened.cookies(), []);
    assert.deepEqual(errors, []);
  } finally {
    await opened.close();
  }
});

test("a message sent through the fake appears on the open page within a second, and search finds it", async () => {
  const { page, errors } = await openPage();
  try {
    const sent = Date.now();
    server.send({ message: "the boiler pressure is low", title: "Boiler" });
    await page.waitForFunction(
      "[...document.querySelectorAll('#list .title')].some((e) => e.textContent === 'Boiler')",
      { timeout: 10_000 },
    );
    const elapsed = Date.now() - sent;
    console.log(`# send → on the page: ${elapsed} ms`);
    assert.ok(elapsed < 1_000, `${elapsed} ms`);
    server.send({ message: "all quiet", title: "Garden" });
    await page.waitForFunction(
      "[...document.querySelectorAll('#list .title')].some((e) => e.textContent === 'Garden')",
    );
    await page.type("#q", "boiler");
    await page.waitForFunction(
      "[...document.querySelectorAll('#list .title')].map((e) => e.textContent).join() === 'Boiler'",
    );
    assert.deepEqual(await titles(page), ["Boiler"]);
    assert.match(
      String(await page.evaluate("document.title")),
      /^\(\d+\) Pushover inbox$/,
      "the unread count in the tab's title",
    );
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test("the Acknowledge button acknowledges the emergency on the fake", async () => {
  const { page, errors } = await openPage();
  try {
    server.send({
      message: "smoke in the kitchen",
      title: "Smoke alarm",
      priority: 2,
    });
    await page.waitForFunction(
      "[...document.querySelectorAll('#list .title')].some((e) => e.textContent === 'Smoke alarm')",
    );
    await page.evaluate(
      "[...document.querySelectorAll('#list .message')].find((li) => li.querySelector('.title').textContent === 'Smoke alarm').querySelector('button').click()",
    );
    await page.waitForFunction("document.querySelector('#detail .ack')");
    await page.click("#detail .ack");
    await page.waitForFunction(
      "document.querySelector('#detail .ack').textContent === 'Acknowledged'",
    );
    const acknowledged = server.log.requests("acknowledge");
    assert.equal(acknowledged.length, 1);
    assert.equal(acknowledged[0].status, 200);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test("a hostile message runs nothing and breaks no layout; a javascript: link is no link", async () => {
  const { page, errors } = await openPage();
  try {
    server.send({
      title: '<img src=x onerror="window.pwned=1">',
      message:
        `<script>window.pwned=1</script><img src=x onerror="window.pwned=1">${
          "A".repeat(100_000)
        }`,
      url: "javascript:window.pwned=1",
      url_title: "click me",
    });
    await page.waitForFunction(
      "[...document.querySelectorAll('#list .title')].some((e) => e.textContent.startsWith('<img'))",
    );
    await page.evaluate(
      "[...document.querySelectorAll('#list .message')].find((li) => li.querySelector('.title').textContent.startsWith('<img')).querySelector('button').click()",
    );
    await page.waitForFunction("document.querySelector('#detail h2')");
    const report = await page.evaluate(`({
      pwned: window.pwned === 1,
      images: document.querySelectorAll('img[src="x"]').length,
      scripts: document.querySelectorAll('script').length,
      links: [...document.querySelectorAll('#detail a')].map((a) => a.href),
      deadLink: document.querySelector('#detail .dead-link')?.textContent,
      overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth,
      strayText: document.querySelector('#detail').textContent.includes('undefined'),
    })`) as Record<string, unknown>;
    assert.deepEqual(report, {
      pwned: false,
      images: 0,
      scripts: 1,
      links: [],
      deadLink: "click me",
      overflow: false,
      strayText: false,
    });
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test("axe-core finds no serious or critical violation, in light and in dark; the screenshots are saved", async () => {
  const axe = await readFile(flag("axe"), "utf8");
  // What a screenshot should show: a few messages of every kind.
  const before = server.log.requests("download").length;
  server.send({
    message: "Nightly backup finished in 4 min (212 GB).",
    title: "nas",
    priority: -1,
  });
  server.send({
    message: "Front door opened while the house is armed.",
    title: "Alarm system",
    priority: 1,
    url: "https://example.com/cameras",
    url_title: "Cameras",
  });
  server.send({ message: "CPU temperature back to 54 °C.", title: "homelab" });
  await new Promise<void>((resolve) => {
    const check = () =>
      server.log.requests("download").length >= before + 1
        ? resolve()
        : setTimeout(check, 20);
    check();
  });
  for (const scheme of ["light", "dark"]) {
    const page = await browser.newPage();
    try {
      // axe is injected as a script of its own: the page's CSP would refuse it.
      await page.setBypassCSP(true);
      await page.emulateMediaFeatures([
        { name: "prefers-color-scheme", value: scheme },
      ]);
      await page.setViewport({ width: 1100, height: 700 });
      await page.goto(`${origin}/?token=${token}`);
      await page.waitForFunction(
        "[...document.querySelectorAll('#list .title')].some((e) => e.textContent === 'homelab')",
      );
      await page.evaluate(
        "[...document.querySelectorAll('#list .message')].find((li) => li.querySelector('.title').textContent === 'Alarm system').querySelector('button').click()",
      );
      await page.waitForFunction("document.querySelector('#detail h2')");
      await page.addScriptTag({ content: axe });
      const violations = await page.evaluate(
        "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))",
      ) as { id: string; impact: string; nodes: number }[];
      console.log(`# axe, ${scheme}: ${JSON.stringify(violations)}`);
      assert.deepEqual(
        violations.filter((v) =>
          v.impact === "serious" || v.impact === "critical"
        ),
        [],
      );
      const docs = process.env.UPDATE_SCREENSHOTS === "1";
      const shots = docs
        ? join(ROOT, "docs")
        : join(tmpdir(), `web-app-shots-${process.pid}`);
      await mkdir(shots, { recursive: true });
      const shot = join(shots, `web-${scheme}.png`);
      try {
        await page.screenshot({ path: shot });
        assert.ok((await readFile(shot)).length > 10_000, "a whole page");
      } finally {
        if (!docs) await rm(shots, { recursive: true, force: true });
      }
    } finally {
      await page.close();
    }
  }
});

test("Mark all read with a search on marks what is shown: a message filtered out stays unread", async () => {
  const { page, errors } = await openPage();
  const unread = (title: string) =>
    `[...document.querySelectorAll('#list .message')].some((li) => li.querySelector('.title').textContent === '${title}' && li.classList.contains('unread'))`;
  try {
    // The one filtered out is the older: marking through the newest shown
    // would reach it.
    server.send({ message: "someone at the door", title: "Porch" });
    server.send({ message: "the kettle is on", title: "Kettle" });
    await page.waitForFunction(unread("Kettle"));
    await page.type("#q", "kettle");
    await page.waitForFunction(
      "[...document.querySelectorAll('#list .title')].map((e) => e.textContent).join() === 'Kettle'",
    );
    // The box cleared, and the button clicked before the list follows it
    // (the search waits 200 ms for more typing): what is shown is marked.
    await page.evaluate(
      "const q = document.querySelector('#q'); q.value = ''; q.dispatchEvent(new Event('input')); document.querySelector('#mark-all').click()",
    );
    await page.waitForFunction(
      `[...document.querySelectorAll('#list .title')].some((e) => e.textContent === 'Porch') && !(${
        unread("Kettle")
      })`,
    );
    assert.equal(await page.evaluate(unread("Porch")), true, "filtered out");
    assert.equal(await page.evaluate(unread("Kettle")), false, "shown");
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test("a full list offers older messages, page by page", async () => {
  const { page, errors } = await openPage();
  try {
    for (let i = 0; i < 120; i++) {
      server.send({ message: `bulk ${i}`, title: `Bulk ${i}` });
    }
    await page.waitForFunction(
      "[...document.querySelectorAll('#list .title')].some((e) => e.textContent === 'Bulk 119')",
    );
    assert.equal(
      await page.evaluate("document.querySelectorAll('#list .message').length"),
      100,
    );
    await page.click("#older");
    await page.waitForFunction(
      "document.querySelectorAll('#list .message').length > 100",
    );
    assert.equal(
      await page.evaluate("document.querySelector('#older').hidden"),
      true,
      "all shown",
    );
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
