// End-to-end encrypted messages: decryptMessage() against vectors made by
// implementations that are not the library — the public vector, and fields
// built by the `gzip` and `openssl` commands — then the key option of
// downloads and streams against the fake server, which encrypts as a sender
// does.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { inspect } from "node:util";
import { DecryptionError, decryptMessage, downloadMessages } from "../mod.ts";
import type { Message, StreamStatus } from "../mod.ts";
import { newDevice, serverTest, take } from "./_setup.ts";

/** The public vector of PROTOCOL.md §3.1a (checked there with openssl). */
const PUBLIC_KEY =
  "1f046d257b8eeaf278c5218fe03a9887c21f80ecd5ad11e39f28cb7cb8b9ce03";
const PUBLIC_FIELD =
  "3sBQOOIEaZjUiKRl9RckIeIzhMWE7ujDDSUYqrrFgHc65ll9sKpu1KTVM7mWXp/bVUi7f0SwzRZNKhumn7aaJ4rTGnwlCw9roA0RmLdHITTIuPeL/PXPawSN2tvklam3bAZxcbOslp1JMlZ+55wShQ==";
const KEY = "a3c1f0e2d4b6978856341202eeddccbbaa99887766554433221100ffeeddccbb";
const OTHER_KEY =
  "0000000000000000000000000000000000000000000000000000000000000001";

/** A message as downloaded, with `fields` set. */
function message(fields: Partial<Message>): Message {
  return {
    id: 5,
    id_str: "5",
    umid: 9,
    umid_str: "9",
    app: "Sonarr",
    aid: 3,
    aid_str: "3",
    icon: "i",
    date: 1,
    priority: 0,
    acked: 0,
    message: "plain",
    ...fields,
  } as Message;
}

const hasTools = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    execFileSync("gzip", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const needsTools = hasTools ? {} : {
  skip:
    "the openssl and gzip commands are missing (apt-get install openssl gzip)",
};

/**
 * One field as a sender makes it, by the `gzip` and `openssl` commands, not
 * by any code of this project: gzip of a file whose mtime is set (so the
 * gzip header carries a real MTIME and the file name), AES-256-CBC with
 * PKCS#7, HMAC-SHA256 over IV ‖ ciphertext.
 */
function sealWithOpenssl(
  text: string,
  key: string,
  iv = "00112233445566778899aabbccddeeff",
): string {
  const dir = mkdtempSync(join(tmpdir(), "e2ee-"));
  try {
    const file = join(dir, "field.txt");
    writeFileSync(file, text);
    utimesSync(file, 1_780_000_000, 1_780_000_000);
    const gzipped = execFileSync("gzip", ["-c", file]);
    const ciphertext = execFileSync("openssl", [
      "enc",
      "-aes-256-cbc",
      "-K",
      key,
      "-iv",
      iv,
    ], { input: gzipped });
    const signed = Buffer.concat([Buffer.from(iv, "hex"), ciphertext]);
    const mac = execFileSync("openssl", [
      "dgst",
      "-sha256",
      "-mac",
      "HMAC",
      "-macopt",
      `hexkey:${key}`,
      "-binary",
    ], { input: signed });
    return Buffer.concat([signed, mac]).toString("base64");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("decryptMessage() decrypts the public vector, passing plaintext fields through", async () => {
  const plain = await decryptMessage(
    message({ message: PUBLIC_FIELD, title: "Grab", url: "https://x.example" }),
    PUBLIC_KEY,
  );
  assert.equal(plain.message, "known-vector regression check");
  assert.equal(plain.title, "Grab");
  assert.equal(plain.url, "https://x.example");
  assert.equal(plain.e2ee, "decrypted");
  assert.equal(plain.id_str, "5");
  assert.equal(plain.umid_str, "9");
});

test("decryptMessage() takes the key in upper case too", async () => {
  const plain = await decryptMessage(
    message({ message: PUBLIC_FIELD }),
    PUBLIC_KEY.toUpperCase(),
  );
  assert.equal(plain.message, "known-vector regression check");
});

for (
  const [name, text] of [
    ["UTF-8 beyond ASCII", "Ünïcødé ✓ 🚨 日本語 — Ωμέγα"],
    ["an empty string", ""],
    ["a 4 KB body", "disk 95% full on db01. ".repeat(180)],
    [
      "a 150 KB body (gunzip hands it out in several chunks)",
      Array.from({ length: 6000 }, (_, i) => `${i}: ${i * 7919 % 9973}\n`)
        .join(""),
    ],
    ["HTML", '<b>Bold</b> &amp; <a href="https://x.example/?a=1&b=2">link</a>'],
    ["newlines", "line one\nline two\r\nline three\n"],
  ] as const
) {
  test(
    `decryptMessage() decrypts a field made by gzip and openssl: ${name}`,
    needsTools,
    async () => {
      const sealed = sealWithOpenssl(text, KEY);
      const title = sealWithOpenssl(
        `title of ${name}`,
        KEY,
        "ffeeddccbbaa99887766554433221100",
      );
      const plain = await decryptMessage(
        message({ message: sealed, title }),
        KEY,
      );
      assert.equal(plain.message, text);
      assert.equal(plain.title, `title of ${name}`);
      assert.equal(plain.e2ee, "decrypted");
    },
  );
}

test(
  "decryptMessage() decrypts url and url_title too",
  needsTools,
  async () => {
    const plain = await decryptMessage(
      message({
        url: sealWithOpenssl("https://sonarr.example/series/42", KEY),
        url_title: sealWithOpenssl("Open in Sonarr", KEY),
      }),
      KEY,
    );
    assert.equal(plain.url, "https://sonarr.example/series/42");
    assert.equal(plain.url_title, "Open in Sonarr");
    assert.equal(plain.message, "plain");
  },
);

/** Flips one byte of a base64 field at `index` (negative: from the end). */
function flip(field: string, index: number): string {
  const bytes = Buffer.from(field, "base64");
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] ^= 0x01;
  return bytes.toString("base64");
}

for (
  const [name, tamper] of [
    ["the wrong key", (f: string) => f],
    ["one flipped byte in the IV", (f: string) => flip(f, 3)],
    ["one flipped byte in the ciphertext", (f: string) => flip(f, 20)],
    ["one flipped byte in the MAC", (f: string) => flip(f, -1)],
  ] as const
) {
  test(`decryptMessage() refuses ${name} with a DecryptionError naming the field only`, async () => {
    const field = tamper(PUBLIC_FIELD);
    const key = name === "the wrong key" ? OTHER_KEY : PUBLIC_KEY;
    const error = await decryptMessage(
      message({ title: field, encrypted: 1 }),
      key,
    ).then(() => undefined, (e) => e);
    assert.ok(error instanceof DecryptionError, String(error));
    assert.equal(error.field, "title");
    assert.match(
      error.message,
      /^Cannot decrypt the title: its HMAC does not verify/,
    );
    for (
      const text of [
        error.message,
        String(error),
        String(error.stack),
        inspect(error),
      ]
    ) {
      assert.ok(!text.includes(key) && !text.includes(key.slice(0, 16)), text);
      assert.ok(
        !text.includes(field.slice(0, 24)),
        "no ciphertext in the error",
      );
    }
  });
}

test("decryptMessage() refuses a truncated field the server marks encrypted", async () => {
  const error = await decryptMessage(
    message({ message: PUBLIC_FIELD.slice(0, 100), encrypted: 1 }),
    PUBLIC_KEY,
  ).then(() => undefined, (e) => e);
  assert.ok(error instanceof DecryptionError);
  assert.equal(error.field, "message");
  assert.match(error.message, /truncated or malformed/);
});

test("decryptMessage() passes through text that only looks like base64, when the server does not say it is encrypted", async () => {
  const lookalike = btoa("x".repeat(96)); // the right length, no valid MAC
  for (
    const text of [
      lookalike,
      "SGVsbG8=",
      "aGVsbG8gd29ybGQ".repeat(8),
      "deadbeef",
    ]
  ) {
    const same = message({ message: text });
    assert.equal(await decryptMessage(same, PUBLIC_KEY), same);
  }
});

test("decryptMessage() checks the key before any work and never echoes it", async () => {
  const cases: [unknown, string, RegExp][] = [
    [
      undefined,
      "TypeError",
      /'key' must be a string of 64 hexadecimal characters: current value is undefined/,
    ],
    [42, "TypeError", /current value is number/],
    [PUBLIC_KEY.slice(0, 63), "RangeError", /current value has 63 characters$/],
    [
      PUBLIC_KEY.slice(0, 63) + "g",
      "RangeError",
      /64 characters of which some are not hexadecimal/,
    ],
    [` ${PUBLIC_KEY}`, "RangeError", /65 characters/],
  ];
  for (const [key, name, pattern] of cases) {
    const error = await decryptMessage(message({}), key as string).then(
      () => undefined,
      (e) => e,
    );
    assert.equal(error?.name, name, String(key));
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes(PUBLIC_KEY.slice(0, 8)));
  }
});

serverTest(
  "downloadMessages() decrypts what the fake encrypts with encryptWith, and marks it without a key",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.send({
      title: "Grab",
      message: "Dune (2021) was grabbed",
      url: "https://sonarr.example",
      encryptWith: KEY,
    });
    const raw = await downloadMessages(device, context.api);
    const sealed = raw.messages[1];
    assert.equal(sealed.encrypted, 1);
    assert.equal(sealed.e2ee, "encrypted");
    assert.notEqual(sealed.message, "Dune (2021) was grabbed");
    assert.equal(raw.messages[0].e2ee, undefined, "the welcome is plain");
    const { messages } = await downloadMessages(device, {
      ...context.api,
      encryptionKey: KEY,
    });
    assert.deepEqual(
      [
        messages[1].title,
        messages[1].message,
        messages[1].url,
        messages[1].e2ee,
      ],
      [
        "Grab",
        "Dune (2021) was grabbed",
        "https://sonarr.example",
        "decrypted",
      ],
    );
    assert.equal(messages[0].e2ee, undefined);
    const wrong = await downloadMessages(device, {
      ...context.api,
      encryptionKey: OTHER_KEY,
    });
    assert.equal(wrong.messages[1].e2ee, "failed");
    assert.equal(
      wrong.messages[1].message,
      sealed.message,
      "handed out as it came",
    );
  },
);

serverTest(
  "downloadMessages() finds encrypted fields by their shape when the server sends no flag",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "no flag here", encryptWith: KEY });
    const { messages } = await downloadMessages(device, {
      ...context.api,
      encryptionKey: KEY,
    });
    assert.equal(messages[1].encrypted, undefined);
    assert.equal(messages[1].message, "no flag here");
    assert.equal(messages[1].e2ee, "decrypted");
    const plain = await downloadMessages(device, context.api);
    assert.equal(plain.messages[1].e2ee, undefined);
  },
  { encryptedFlag: false },
);

serverTest(
  "downloadMessages() checks encryptionKey before any request",
  async (context) => {
    const device = await newDevice(context);
    const before = context.server.log.requests().length;
    await assert.rejects(
      downloadMessages(device, { ...context.api, encryptionKey: "nope" }),
      { name: "RangeError" },
    );
    assert.equal(context.server.log.requests().length, before);
  },
);

serverTest(
  "streamMessages() with encryptionKey yields decrypted messages",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.send({
      title: "Alarm",
      message: "Smoke: kitchen",
      encryptWith: KEY,
    });
    const got = await take(context.stream(device, { encryptionKey: KEY }), 2);
    assert.equal(got[1].title, "Alarm");
    assert.equal(got[1].message, "Smoke: kitchen");
    assert.equal(got[1].e2ee, "decrypted");
  },
);

serverTest(
  "streamMessages() with a wrong key hands every message out marked failed, reports each once, then names the key",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    for (let i = 0; i < 4; i++) {
      server.send({ message: `secret ${i}`, encryptWith: KEY });
    }
    const statuses: StreamStatus[] = [];
    const got = await take(
      context.stream(device, {
        encryptionKey: OTHER_KEY,
        onStatus: (s) => statuses.push(s),
      }),
      6,
      (_, index) => {
        if (index === 4) server.send({ message: "plain after all" });
      },
    );
    assert.deepEqual(
      got.map((m) => m.e2ee),
      [undefined, "failed", "failed", "failed", "failed", undefined],
    );
    assert.equal(got[5].message, "plain after all");
    const reports = statuses.flatMap((s) =>
      s.state === "undecryptable" ? [s] : []
    );
    assert.deepEqual(
      reports.map((r) => r.id),
      got.slice(1, 5).map((m) => m.id_str),
    );
    assert.ok(reports.every((r) => r.field === "message"));
    assert.match(reports[0].reason, /HMAC does not verify/);
    assert.match(
      reports[2].reason,
      /^the end-to-end key does not match the sender's: 3 messages in a row did not verify; check encryptionKey$/,
    );
    for (const status of statuses) {
      const text = JSON.stringify(status);
      assert.ok(!text.includes(OTHER_KEY) && !text.includes(KEY), text);
    }
    // Handed out and moved past like any message: deleted, never dropped unseen.
    assert.equal(server.store.devices.get(device.deviceId)!.queue.length, 0);
  },
);

serverTest(
  "streamMessages() checks encryptionKey before any I/O, naming the option but not the key",
  async (context) => {
    const device = await newDevice(context);
    assert.throws(
      () => context.stream(device, { encryptionKey: KEY.slice(1) }),
      {
        name: "RangeError",
        message:
          "Cannot stream messages: 'encryptionKey' must be 64 hexadecimal characters (a 256-bit key): current value has 63 characters",
      },
    );
  },
);
