import assert from "node:assert/strict";
import { test } from "node:test";
import { iconUrl, soundCode, soundName, SOUNDS, soundUrl } from "../mod.ts";
import type { Message } from "../mod.ts";

test("iconUrl() builds the icon URL on api.pushover.net", () => {
  assert.equal(
    iconUrl({ icon: "mnsw2ykc6qa5sbn", aid_str: "435443636951759403" }),
    "https://api.pushover.net/icons/mnsw2ykc6qa5sbn.png",
  );
  assert.equal(
    iconUrl({ icon: "ifttt", aid_str: "1" }),
    "https://api.pushover.net/icons/ifttt.png",
  );
});

test("iconUrl() falls back to pushover for aid 1 and default otherwise", () => {
  assert.equal(
    iconUrl({ icon: "", aid_str: "1" }),
    "https://api.pushover.net/icons/pushover.png",
  );
  assert.equal(
    iconUrl({ icon: "", aid_str: "42" }),
    "https://api.pushover.net/icons/default.png",
  );
  const missing = { aid_str: "1" } as Pick<Message, "icon" | "aid_str">;
  assert.equal(iconUrl(missing), "https://api.pushover.net/icons/pushover.png");
  const nulled = { icon: null, aid_str: "9" } as unknown as Message;
  assert.equal(iconUrl(nulled), "https://api.pushover.net/icons/default.png");
});

test("iconUrl() accepts a whole message", () => {
  const message: Message = {
    id: 41,
    id_str: "41",
    umid: 7,
    umid_str: "7",
    message: "hi",
    app: "Pushover",
    aid: 1,
    aid_str: "1",
    icon: "pushover",
    date: 1700000000,
    priority: 0,
    acked: 0,
  };
  assert.equal(iconUrl(message), "https://api.pushover.net/icons/pushover.png");
});

test("iconUrl() percent-encodes the icon name", () => {
  assert.equal(
    iconUrl({ icon: "../../1/users/login.json?x=1#", aid_str: "2" }),
    "https://api.pushover.net/icons/..%2F..%2F1%2Fusers%2Flogin.json%3Fx%3D1%23.png",
  );
  assert.equal(
    iconUrl({ icon: "é ü", aid_str: "2" }),
    "https://api.pushover.net/icons/%C3%A9%20%C3%BC.png",
  );
});

test("iconUrl() uses assetUrl without its trailing slashes", () => {
  for (const assetUrl of ["http://127.0.0.1:8080", "http://127.0.0.1:8080/"]) {
    assert.equal(
      iconUrl({ icon: "x", aid_str: "2" }, { assetUrl }),
      "http://127.0.0.1:8080/icons/x.png",
    );
  }
  assert.equal(
    iconUrl({ icon: "x", aid_str: "2" }, {
      assetUrl: "https://cdn.example/pushover//",
    }),
    "https://cdn.example/pushover/icons/x.png",
  );
});

test("iconUrl() rejects a missing message and a malformed assetUrl", () => {
  assert.throws(() => iconUrl(null as never), {
    name: "TypeError",
    message:
      "Cannot build the icon URL: 'message' must be an object: current value is null",
  });
  assert.throws(
    () => iconUrl({ icon: "x", aid_str: "2" }, { assetUrl: "" }),
    {
      name: "TypeError",
      message:
        "Cannot build the icon URL: 'assetUrl' must be a non-empty string: current value is ''",
    },
  );
});

test("SOUNDS holds the 22 documented codes and is frozen", () => {
  assert.deepEqual(SOUNDS, {
    po: "pushover",
    bk: "bike",
    bu: "bugle",
    ch: "cashregister",
    cl: "classical",
    co: "cosmic",
    fa: "falling",
    gl: "gamelan",
    ic: "incoming",
    im: "intermission",
    ma: "magic",
    mc: "mechanical",
    pn: "pianobar",
    si: "siren",
    sp: "spacealarm",
    tg: "tugboat",
    ln: "alien",
    mb: "climb",
    ps: "persistent",
    ec: "echo",
    ud: "updown",
    no: "none",
  });
  assert.ok(Object.isFrozen(SOUNDS));
  assert.throws(() => {
    (SOUNDS as Record<string, string>).po = "changed";
  }, TypeError);
  assert.equal(SOUNDS.po, "pushover");
});

test("soundName() maps codes to names and passes unknown codes through", () => {
  assert.equal(soundName("po"), "pushover");
  assert.equal(soundName("ln"), "alien");
  assert.equal(soundName("no"), "none");
  assert.equal(soundName("zz"), "zz");
  assert.equal(soundName(""), "");
  assert.equal(soundName("PO"), "PO");
  // Inherited properties are not codes.
  assert.equal(soundName("toString"), "toString");
  assert.equal(soundName("__proto__"), "__proto__");
});

test("soundCode() is the inverse of soundName() and passes unknown names through", () => {
  for (const [code, name] of Object.entries(SOUNDS)) {
    assert.equal(soundCode(name), code);
    assert.equal(soundName(soundCode(name)), name);
  }
  assert.equal(soundCode("si"), "si");
  assert.equal(soundCode("vibrate"), "vibrate");
  assert.equal(soundCode("my-custom"), "my-custom");
  assert.equal(soundCode("constructor"), "constructor");
});

test("soundUrl() accepts a code or a long name, WAV by default", () => {
  assert.equal(soundUrl("si"), "https://api.pushover.net/sounds/si.wav");
  assert.equal(soundUrl("siren"), "https://api.pushover.net/sounds/si.wav");
  assert.equal(
    soundUrl("spacealarm", { format: "mp3" }),
    "https://api.pushover.net/sounds/sp.mp3",
  );
  assert.equal(
    soundUrl("po", { format: "wav", assetUrl: "http://localhost:9/" }),
    "http://localhost:9/sounds/po.wav",
  );
});

test("soundUrl() passes unknown sounds through, percent-encoded", () => {
  assert.equal(
    soundUrl("my custom/sound"),
    "https://api.pushover.net/sounds/my%20custom%2Fsound.wav",
  );
});

test("soundUrl() rejects an empty sound and an unknown format", () => {
  assert.throws(() => soundUrl(""), {
    name: "TypeError",
    message:
      "Cannot build the sound URL: 'sound' must be a non-empty string: current value is ''",
  });
  assert.throws(() => soundUrl("po", { format: "ogg" as "wav" }), {
    name: "RangeError",
    message:
      "Cannot build the sound URL: 'format' must be 'wav' or 'mp3': current value is 'ogg'",
  });
});
