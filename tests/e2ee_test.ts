// End-to-end encrypted messages: decryptMessage() against vectors made by
// implementations that are not the library — the public vector, fields built
// by the `gzip` and `openssl` commands, and fields built in the test by
// node:crypto and node:zlib (a valid MAC over a broken payload, text that
// only looks encrypted at each bound of the shape check) — then the key
// option of downloads and streams against the fake server, which encrypts as
// a sender does.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { inspect } from "node:util";
import { gzipSync } from "node:zlib";
import { DecryptionError, decryptMessage, downloadMessages } from "../mod.ts";
import type { DecryptionFailure, Message, StreamStatus } from "../mod.ts";
import { createDecryptor, decryptAll, markEncrypted } from "../lib/e2ee.ts";
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
    assert.equal(error.reason, "mac");
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
  assert.equal(error.reason, "format");
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
    [null, "TypeError", /current value is null$/],
    [{}, "TypeError", /current value is object$/],
    [PUBLIC_KEY.slice(0, 63), "RangeError", /current value has 63 characters$/],
    [
      PUBLIC_KEY.slice(0, 63) + "g",
      "RangeError",
      /64 characters of which some are not hexadecimal/,
    ],
    [` ${PUBLIC_KEY}`, "RangeError", /65 characters/],
    [`${PUBLIC_KEY}0`, "RangeError", /65 characters/],
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

// Fields made in the test by node:crypto and node:zlib, which every runtime
// of the suite has: what no honest sender makes (a valid MAC over broken
// padding, over something that is not gzip, over gzip of bytes that are not
// UTF-8), and text that misses the shape of an encrypted field by one bound.

const SEAL_IV = Buffer.from("0f0e0d0c0b0a09080706050403020100", "hex");

/**
 * base64(IV ‖ ciphertext ‖ HMAC-SHA256(IV ‖ ciphertext)): a MAC that
 * verifies, whatever the ciphertext holds.
 */
function signed(ciphertext: Uint8Array, key = KEY, iv = SEAL_IV): string {
  const body = Buffer.concat([iv, ciphertext]);
  const mac = createHmac("sha256", Buffer.from(key, "hex")).update(body)
    .digest();
  return Buffer.concat([body, mac]).toString("base64");
}

/**
 * AES-256-CBC of `payload`, signed: with PKCS#7 padding, or with `raw` none
 * added (the payload, whole blocks, brings its own).
 */
function sealPayload(payload: Uint8Array, key = KEY, raw = false): string {
  const cipher = createCipheriv(
    "aes-256-cbc",
    Buffer.from(key, "hex"),
    SEAL_IV,
  );
  cipher.setAutoPadding(!raw);
  return signed(
    Buffer.concat([cipher.update(payload), cipher.final()]),
    key,
  );
}

/** A field as a sender makes it: gzip, AES-256-CBC, HMAC. */
function seal(text: string, key = KEY): string {
  return sealPayload(gzipSync(text), key);
}

/** A sealed field of exactly `length` characters, and its text. */
function sealOfLength(length: number): { field: string; text: string } {
  for (let size = 0; size < 100; size++) {
    // Printable ASCII that does not repeat within 94 characters: the gzip
    // grows with the text.
    const text = Array.from(
      { length: size },
      (_, i) => String.fromCharCode(33 + i * 37 % 94),
    ).join("");
    const field = seal(text);
    if (field.length === length) return { field, text };
  }
  throw new Error(`no sealed field has ${length} characters`);
}

/** The DecryptionError that `promise` rejects with. */
async function decryptionError(
  promise: Promise<unknown>,
): Promise<DecryptionError> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof DecryptionError, String(error));
  assert.equal(error.name, "DecryptionError");
  return error;
}

const FLAGS = [["flagged", { encrypted: 1 }], ["unflagged", {}]] as const;

for (
  const [name, reason, field, make, words] of [
    [
      "PKCS#7 padding ending in 0x00",
      "padding",
      "url",
      () => sealPayload(Buffer.alloc(48, 0x41).fill(0, 47), KEY, true),
      "its padding is broken",
    ],
    [
      "PKCS#7 padding ending in 0x11 (more than a block)",
      "padding",
      "url",
      () => sealPayload(Buffer.alloc(48, 0x11), KEY, true),
      "its padding is broken",
    ],
    [
      "a payload that is not gzip",
      "gzip",
      "url_title",
      () => sealPayload(Buffer.from("this text was never gzipped")),
      "its content is not gzip",
    ],
    [
      "gzip of bytes that are not UTF-8 (0xff 0xfe)",
      "utf8",
      "message",
      () => sealPayload(gzipSync(Uint8Array.of(0xff, 0xfe))),
      "its text is not UTF-8",
    ],
  ] as const
) {
  for (const [flag, marks] of FLAGS) {
    test(`decryptMessage() refuses a valid MAC over ${name} with reason "${reason}" (${flag})`, async () => {
      const sealed = make();
      const error = await decryptionError(
        decryptMessage(message({ ...marks, [field]: sealed }), KEY),
      );
      assert.equal(error.reason, reason satisfies DecryptionFailure);
      assert.equal(error.field, field);
      assert.equal(error.message, `Cannot decrypt the ${field}: ${words}`);
      assert.ok(!inspect(error).includes(sealed.slice(0, 24)));
    });
  }
}

test('decryptMessage() refuses a field of another key with reason "mac" when flagged, and passes it through when not', async () => {
  const sealed = seal("for someone else", OTHER_KEY);
  const error = await decryptionError(
    decryptMessage(message({ url: sealed, encrypted: 1 }), KEY),
  );
  assert.equal(error.reason, "mac");
  assert.equal(error.field, "url");
  assert.equal(
    error.message,
    "Cannot decrypt the url: its HMAC does not verify: the key is not the sender's, or the field was altered",
  );
  const plain = message({ url: sealed });
  assert.equal(await decryptMessage(plain, KEY), plain);
});

test("decryptMessage() decrypts fields of 108, 128 and 152 characters (padded with =, nothing, ==)", async () => {
  for (
    const [length, padding] of [[108, "="], [128, ""], [152, "=="]] as const
  ) {
    const { field, text } = sealOfLength(length);
    assert.equal(
      field.length - field.replace(/=+$/, "").length,
      padding.length,
    );
    const plain = await decryptMessage(message({ title: field }), KEY);
    assert.equal(plain.title, text, `${length} characters`);
    assert.equal(plain.e2ee, "decrypted");
  }
});

/**
 * Text that misses the shape of an encrypted field by one bound, and whether
 * it still looks like base64 (a flagged message then refuses it). Each
 * comment names the check that alone tells it from an encrypted field.
 */
const LOOKALIKES: [string, () => string, boolean][] = [
  // length ≥ 108 and length % 4 (107 is the 108 below)
  [
    "unpadded base64 of a valid 80-byte field (107 characters)",
    () => sealOfLength(108).field.replace(/=+$/, ""),
    true,
  ],
  // length % 4
  [
    "unpadded base64 of a valid 112-byte field (150 characters)",
    () => sealOfLength(152).field.replace(/=+$/, ""),
    true,
  ],
  [
    "109 base64 characters (atob refuses them)",
    () => "A".repeat(109),
    true,
  ],
  // length ≥ 108 (the MAC verifies; it would fail as "gzip")
  [
    "a valid MAC over one block: 64 bytes, 88 characters",
    () => sealPayload(Buffer.from("fifteen bytes!!")),
    true,
  ],
  // whole blocks (it would fail as "padding")
  [
    "a valid MAC over 33 bytes, not whole blocks (81 bytes, 108 characters)",
    () => signed(Buffer.alloc(33, 7)),
    true,
  ],
  // the base64 pattern: its alphabet, both anchors, at most two =; atob
  // throws for all but the spaces
  [
    "a valid field with a base64url character",
    () => {
      const { field } = sealOfLength(128);
      return `${field.slice(0, 60)}-${field.slice(61)}`;
    },
    false,
  ],
  [
    "a valid field starting with a character outside base64",
    () => `.${sealOfLength(128).field.slice(1)}`,
    false,
  ],
  [
    "a valid field ending with a character outside base64",
    () => `${sealOfLength(128).field.slice(0, -1)}.`,
    false,
  ],
  [
    "a valid field with four spaces inside (atob would skip them)",
    () => {
      const { field } = sealOfLength(108);
      return `${field.slice(0, 50)}    ${field.slice(50)}`;
    },
    false,
  ],
  [
    "three = of padding",
    () => `${"A".repeat(109)}===`,
    false,
  ],
];

for (const [name, make, base64] of LOOKALIKES) {
  test(`decryptMessage() passes through ${name} when the server does not flag it`, async () => {
    const same = message({ title: make() });
    assert.equal(await decryptMessage(same, KEY), same);
  });

  test(
    `decryptMessage() ${
      base64 ? 'refuses with reason "format"' : "passes through"
    } ${name} in a flagged message`,
    async () => {
      const title = make();
      const sealed = seal("the message itself");
      const promise = decryptMessage(
        message({ title, message: sealed, encrypted: 1 }),
        KEY,
      );
      if (!base64) {
        const plain = await promise;
        assert.equal(plain.title, title);
        assert.equal(plain.message, "the message itself");
        return;
      }
      const error = await decryptionError(promise);
      assert.equal(error.reason, "format");
      assert.equal(
        error.message,
        "Cannot decrypt the title: it is not a whole encrypted field (truncated or malformed base64)",
      );
    },
  );
}

test("decryptMessage() in a flagged message takes base64-like text of 23 characters as plaintext, of 24 as a broken field", async () => {
  const sealed = seal("body");
  const plain = await decryptMessage(
    message({ title: "A".repeat(23), message: sealed, encrypted: 1 }),
    KEY,
  );
  assert.equal(plain.title, "A".repeat(23));
  assert.equal(plain.message, "body");
  const error = await decryptionError(
    decryptMessage(
      message({ title: "A".repeat(24), message: sealed, encrypted: 1 }),
      KEY,
    ),
  );
  assert.equal([error.field, error.reason].join(), "title,format");
  const unflagged = message({ title: "A".repeat(24), message: "plain" });
  assert.equal(await decryptMessage(unflagged, KEY), unflagged);
});

test("decryptMessage() refuses a flagged message with nothing encrypted, and only a flagged one", async () => {
  for (const encrypted of [1, true, "1"]) {
    const error = await decryptionError(
      decryptMessage(message({ title: "Grab", encrypted } as never), KEY),
    );
    assert.equal(error.field, "message");
    assert.equal(error.reason, "format");
    assert.equal(
      error.message,
      "Cannot decrypt the message: the server marks it encrypted, but no field holds an encrypted value",
    );
  }
  for (const encrypted of [0, false, "0", "true", 2, null]) {
    const same = message({ title: "Grab", encrypted } as never);
    assert.equal(await decryptMessage(same, KEY), same, String(encrypted));
  }
});

test("decryptMessage() names the key in its key errors", async () => {
  const error = await decryptMessage(message({}), "nope").then(
    () => undefined,
    (e) => e,
  );
  assert.equal(
    error?.message,
    "Cannot decrypt the message: 'key' must be 64 hexadecimal characters (a 256-bit key): current value has 4 characters",
  );
});

/**
 * The calls `work` makes to crypto.subtle.importKey: algorithm, whether
 * extractable, usages.
 */
async function importsDuring(
  work: () => Promise<unknown>,
): Promise<string[]> {
  const subtle = crypto.subtle;
  const importKey = subtle.importKey;
  const calls: string[] = [];
  subtle.importKey = function (
    this: SubtleCrypto,
    ...args: Parameters<SubtleCrypto["importKey"]>
  ) {
    const [, , algorithm, extractable, usages] = args;
    const name = typeof algorithm === "string" ? algorithm : algorithm.name;
    calls.push(`${name} extractable=${extractable} ${[...usages].join()}`);
    return importKey.apply(this, args);
  } as SubtleCrypto["importKey"];
  try {
    await work();
  } finally {
    subtle.importKey = importKey;
  }
  return calls;
}

test("decryptMessage() imports a key once, in either case, keeps the last four keys, and never caches a bad one", async () => {
  // Keys no other test uses: the cache lives as long as the module.
  const keys = Array.from({ length: 5 }, () => randomBytes(32).toString("hex"));
  const sealed = keys.map((key) => seal("cached", key));
  const imports = async (...which: number[]) =>
    (await importsDuring(async () => {
      for (const i of which) {
        const plain = await decryptMessage(
          message({ message: sealed[i], title: sealed[i] }),
          i % 2 ? keys[i].toUpperCase() : keys[i],
        );
        assert.equal(plain.message, "cached");
      }
    })).length;
  assert.deepEqual(
    await importsDuring(() => decryptMessage(message({}), keys[0])),
    [],
    "nothing to decrypt, nothing imported",
  );
  // Two fields of one message: one AES key and one HMAC key, which cannot
  // be exported nor used for anything else.
  assert.deepEqual(
    await importsDuring(() =>
      decryptMessage(message({ message: sealed[0], title: sealed[0] }), keys[0])
    ),
    ["AES-CBC extractable=false decrypt", "HMAC extractable=false verify"],
  );
  assert.equal(await imports(0), 0);
  assert.deepEqual(
    await importsDuring(() =>
      decryptMessage(message({ message: sealed[0] }), keys[0].toUpperCase())
    ),
    [],
    "either case is the same key",
  );
  assert.equal(await imports(1, 2, 3), 6);
  assert.equal(await imports(0, 1, 2, 3), 0, "four keys kept");
  assert.equal(await imports(4), 2);
  assert.equal(await imports(1, 2, 3, 4), 0);
  assert.equal(await imports(0), 2, "the oldest was dropped");
  // Cached now: 2, 3, 4, 0. A bad key drops none of them.
  await assert.rejects(decryptMessage(message({}), "nope"), RangeError);
  await assert.rejects(decryptMessage(message({}), 42 as never), TypeError);
  assert.equal(await imports(2, 3, 4, 0), 0);
});

test("markEncrypted() marks the messages the server flags, and changes nothing else", () => {
  const flagged = message({ message: seal("x"), encrypted: 1 });
  const plain = message({});
  const [a, b] = markEncrypted([flagged, plain]);
  assert.deepEqual(a, { ...flagged, e2ee: "encrypted" });
  assert.equal(b, plain);
});

test("decryptAll() decrypts a burst in order, marking and reporting each failure in order", async () => {
  const decryptor = createDecryptor(KEY, "test", "key");
  const sealed = seal("ok");
  const broken = seal("no", OTHER_KEY);
  // More than one slice of messages decrypted side by side.
  const messages = Array.from({ length: 70 }, (_, i) =>
    message({
      id: i,
      id_str: String(i),
      message: i % 9 === 4 ? broken : sealed,
      encrypted: 1,
    }));
  const failures: [string, DecryptionFailure][] = [];
  const out = await decryptAll(
    messages,
    decryptor,
    (m, error) => failures.push([m.id_str, error.reason]),
  );
  assert.deepEqual(out.map((m) => m.id), messages.map((m) => m.id));
  for (const [i, m] of out.entries()) {
    if (i % 9 === 4) {
      assert.deepEqual(m, { ...messages[i], e2ee: "failed" });
    } else {
      assert.equal(m.message, "ok");
      assert.equal(m.e2ee, "decrypted");
    }
  }
  assert.deepEqual(
    failures,
    [4, 13, 22, 31, 40, 49, 58, 67].map((i) => [String(i), "mac"]),
  );
  // Without a listener, failures are only marked.
  const [one] = await decryptAll([messages[4]], decryptor);
  assert.equal(one.e2ee, "failed");
});

test("decryptAll() lets an error that is not a DecryptionError through", async () => {
  const bug = new TypeError("a bug");
  await assert.rejects(
    decryptAll([message({})], {
      decrypt: () => Promise.reject(bug),
    }),
    (error) => error === bug,
  );
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
