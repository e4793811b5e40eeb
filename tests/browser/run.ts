/**
 * The library in a real browser: headless Chromium (Debian's `chromium`),
 * driven by puppeteer-core from npm, loads a page served by the fake server
 * from its own origin; the page (tests/browser/page.ts, bundled by esbuild)
 * runs login → register → download → delete → stream three messages pushed
 * by `!` → close() keeping the held one, with the browser's own fetch and
 * WebSocket. Each of its checks is a test here.
 *
 * Run by `deno task test chromium` (tests/run_all.ts), with Node 24:
 *
 *   node --test-reporter=spec tests/browser/run.ts --chromium /usr/bin/chromium \
 *     --puppeteer .runtimes/puppeteer/node_modules/puppeteer-core/lib/esm/puppeteer/puppeteer-core.js \
 *     --esbuild .runtimes/esbuild/node_modules/.bin/esbuild
 *
 * @module
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { login, registerDevice } from "../../mod.ts";
import { startFakeServer } from "../../testing/mod.ts";
import { bundle } from "../_bundle.ts";

function flag(name: string): string {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) throw new Error(`--${name} is required`);
  return process.argv[index + 1];
}

const EMAIL = "browser@example.com";
const PASSWORD = "pa55-in-a-browser";

/** The bits of puppeteer-core's API this test uses. */
interface Puppeteer {
  launch(options: Record<string, unknown>): Promise<{
    waitForTarget(
      test: (target: { type(): string; url(): string }) => boolean,
      options: { timeout: number },
    ): Promise<{
      worker(): Promise<{ evaluate(code: string): Promise<unknown> }>;
    }>;
    newPage(): Promise<{
      goto(url: string): Promise<unknown>;
      waitForFunction(
        fn: string,
        options: { timeout: number },
      ): Promise<unknown>;
      evaluate(fn: string): Promise<unknown>;
      on(
        event: "console" | "pageerror",
        listener: (value: unknown) => void,
      ): void;
    }>;
    version(): Promise<string>;
    close(): Promise<void>;
  }>;
}

/** What the page reported: one entry per step of the flow. */
type Report = { name: string; ok: boolean; detail?: string }[];

type Browser = Awaited<ReturnType<Puppeteer["launch"]>>;

/**
 * Builds examples/extension into a folder with the loopback fake added to
 * its hosts; returns the folder and what removes it.
 */
function buildExtension(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "extension-"));
  const source = new URL("../../examples/extension/", import.meta.url);
  writeFileSync(
    join(dir, "service_worker.js"),
    bundle(flag("esbuild"), new URL("service_worker.ts", source), "browser"),
  );
  const manifest = JSON.parse(
    readFileSync(new URL("manifest.json", source), "utf8"),
  );
  manifest.host_permissions.push("http://127.0.0.1/*", "ws://127.0.0.1/*");
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  copyFileSync(new URL("icon.png", source), join(dir, "icon.png"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Opens the page the fake serves in `browser`; resolves with its report and
 * the uncaught errors it had.
 */
async function runPage(
  browser: Browser,
): Promise<{ report: Report; errors: string[] }> {
  const script = bundle(
    flag("esbuild"),
    new URL("./page.ts", import.meta.url),
    "browser",
  );
  const server = await startFakeServer({
    keepAliveInterval: 0,
    accounts: [{ email: EMAIL, password: PASSWORD }],
    pages: {
      "/browser/": {
        type: "text/html; charset=utf-8",
        body:
          '<!doctype html><title>browser test</title><script type="module" src="/browser/page.js"></script>',
      },
      "/browser/page.js": { type: "text/javascript", body: script },
    },
  });
  const errors: string[] = [];
  try {
    const page = await browser.newPage();
    page.on("pageerror", (error) => errors.push(String(error)));
    const query = new URLSearchParams({ email: EMAIL, password: PASSWORD });
    await page.goto(`${new URL(server.apiUrl).origin}/browser/?${query}`);
    await page.waitForFunction("globalThis.report !== undefined", {
      timeout: 20_000,
    });
    return {
      report: await page.evaluate("globalThis.report") as Report,
      errors,
    };
  } finally {
    await server.close();
  }
}

/**
 * Saves a device in the extension's storage, sends a message and resolves
 * with the notifications its service worker made.
 */
async function runExtension(browser: Browser): Promise<string[]> {
  const fake = await startFakeServer({
    keepAliveInterval: 0,
    accounts: [{ email: EMAIL, password: PASSWORD }],
  });
  try {
    const api = { apiUrl: fake.apiUrl };
    const device = await registerDevice(
      await login({ email: EMAIL, password: PASSWORD }, api),
      "extension",
      api,
    );
    fake.store.devices.get(device.deviceId)!.queue.length = 0;
    // Ours, by its script: Chromium may start service workers of its own.
    const target = await browser.waitForTarget(
      (t) =>
        t.type() === "service_worker" &&
        t.url().startsWith("chrome-extension://") &&
        t.url().endsWith("/service_worker.js"),
      { timeout: 10_000 },
    );
    const worker = await target.worker();
    // What the worker asks chrome.notifications for, kept to check its text
    // (getAll() gives ids only).
    await worker.evaluate(`(() => {
      const create = chrome.notifications.create.bind(chrome.notifications);
      globalThis.created = [];
      chrome.notifications.create = (id, options) => {
        globalThis.created.push({ id, title: options.title, message: options.message });
        return create(id, options);
      };
    })()`);
    const config = {
      device,
      apiUrl: fake.apiUrl,
      websocketUrl: fake.websocketUrl,
    };
    await worker.evaluate(
      `chrome.storage.local.set({ config: ${JSON.stringify(config)} })`,
    );
    await fake.waitForLogin(device.deviceId);
    const sent = fake.send({ message: "from the extension", title: "Ext" });
    await worker.evaluate(`(async () => {
      for (let i = 0; i < 200; i++) {
        const all = await chrome.notifications.getAll();
        if (Object.keys(all).length > 0) return;
        await new Promise((r) => setTimeout(r, 25));
      }
    })()`);
    const shown = await worker.evaluate(
      `chrome.notifications.getAll().then((all) => Object.keys(all))`,
    ) as string[];
    const created = await worker.evaluate("globalThis.created") as {
      id: string;
      title: string;
      message: string;
    }[];
    const id = sent.ids[device.deviceId];
    return shown.map((shownId) => {
      const made = created.find((c) => c.id === shownId);
      return shownId === id && made?.title === "Ext"
        ? made.message
        : `unexpected ${JSON.stringify(made ?? shownId)}`;
    });
  } finally {
    await fake.close();
  }
}

// One Chromium for both: the page, and the Manifest V3 example loaded into
// it (a second browser was a second start-up for nothing).
const extension = buildExtension();
const puppeteer = (await import(pathToFileURL(flag("puppeteer")).href))
  .default as Puppeteer;
const browser = await puppeteer.launch({
  executablePath: flag("chromium"),
  headless: true,
  enableExtensions: [extension.dir],
  pipe: true,
  // As root (CI containers) Chromium refuses to start sandboxed.
  args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
}).catch((error) => {
  extension.remove();
  throw error;
});
console.log(`# ${await browser.version()}`);

after(async () => {
  await browser.close();
  extension.remove();
});

test("the page runs the whole flow in Chromium", async (t) => {
  const { report, errors } = await runPage(browser);
  for (const check of report) {
    await t.test(`chromium: ${check.name}`, () => {
      assert.ok(check.ok, check.detail);
    });
  }
  assert.deepEqual(errors, [], "the page had uncaught errors");
  assert.equal(report.length, 6, JSON.stringify(report));
});

test("the extension example's service worker streams and shows chrome.notifications", async () => {
  assert.deepEqual(await runExtension(browser), ["from the extension"]);
});
