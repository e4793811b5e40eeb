import { describe, requireString } from "./_validate.ts";
import type { Message } from "./types.ts";

const DEFAULT_ASSET_URL = "https://api.pushover.net";

/**
 * Where {@linkcode iconUrl} and {@linkcode soundUrl} point.
 *
 * @example Serve icons and sounds from a local cache
 * ```ts
 * import { iconUrl, soundUrl } from "@openpush/pushover-open-client";
 * import type { AssetOptions } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const cache: AssetOptions = { assetUrl: "http://127.0.0.1:8080/pushover/" };
 * assert.equal(
 *   iconUrl({ icon: "ifttt", aid_str: "7" }, cache),
 *   "http://127.0.0.1:8080/pushover/icons/ifttt.png",
 * );
 * assert.equal(soundUrl("si", cache), "http://127.0.0.1:8080/pushover/sounds/si.wav");
 * ```
 */
export interface AssetOptions {
  /**
   * Base URL of the static assets, with or without a trailing slash: a mirror,
   * a local cache or a test server.
   *
   * @default {"https://api.pushover.net"}
   */
  assetUrl?: string;
}

/**
 * Options of {@linkcode soundUrl}.
 *
 * @example MP3 files from a mirror, for a player without WAV support
 * ```ts
 * import { soundUrl } from "@openpush/pushover-open-client";
 * import type { SoundUrlOptions } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const options: SoundUrlOptions = {
 *   assetUrl: "https://cdn.example.com/pushover",
 *   format: "mp3",
 * };
 * assert.equal(soundUrl("siren", options), "https://cdn.example.com/pushover/sounds/si.mp3");
 * ```
 */
export interface SoundUrlOptions extends AssetOptions {
  /**
   * The file format to fetch.
   *
   * @default {"wav"}
   */
  format?: "wav" | "mp3";
}

/**
 * The two-letter sound codes downloaded messages and device settings carry,
 * mapped to the long names senders choose (`pushover`, `siren` …). Frozen.
 *
 * Codes for `vibrate` and for per-account custom sounds are not known, so they
 * are missing here: {@linkcode soundName} passes such codes through.
 *
 * @example Offer every sound by name
 * ```ts
 * import { SOUNDS } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SOUNDS.po, "pushover");
 * assert.ok(Object.values(SOUNDS).includes("spacealarm"));
 * assert.ok(Object.isFrozen(SOUNDS));
 * ```
 */
// Pure: the bundle of an app that uses no sound helper drops the table.
export const SOUNDS: Readonly<Record<string, string>> = /* @__PURE__ */ Object
  .freeze({
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

/**
 * The long name of a two-letter sound code (`"si"` → `"siren"`). Unknown codes,
 * such as custom sounds, come back unchanged.
 *
 * @param code The code from `message.sound` or the device settings.
 * @returns The long name, or `code` itself when it is not in {@linkcode SOUNDS}.
 *
 * @example Show the sound a message asks for
 * ```ts
 * import { soundName } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(soundName("si"), "siren");
 * assert.equal(soundName("zz"), "zz");
 * ```
 */
export function soundName(code: string): string {
  return Object.hasOwn(SOUNDS, code) ? SOUNDS[code] : code;
}

/**
 * The two-letter code of a long sound name (`"siren"` → `"si"`), the inverse
 * of {@linkcode soundName}. Unknown names, and codes, come back unchanged.
 *
 * @param name A long name such as `"pushover"`; case-sensitive.
 * @returns The code, or `name` itself when no sound has that name.
 *
 * @example Compare a setting with a message's sound
 * ```ts
 * import { soundCode } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(soundCode("siren"), "si");
 * assert.equal(soundCode("si"), "si");
 * assert.equal(soundCode("my-custom-sound"), "my-custom-sound");
 * ```
 */
export function soundCode(name: string): string {
  // 22 sounds: a search, not a second table every bundle would carry.
  return Object.keys(SOUNDS).find((code) => SOUNDS[code] === name) ?? name;
}

/**
 * The address of an application's icon (`{assetUrl}/icons/{icon}.png`). When
 * the message has no icon, Pushover's own messages (application id 1) get the
 * `pushover` icon and the others `default`. Cache what you download.
 *
 * @param message The message, or just its `icon` and `aid_str`.
 * @param options Where the assets are served.
 * @returns The icon's URL; the name is percent-encoded.
 * @throws {TypeError} `message` is not an object.
 *
 * @example Icons of a message, of a system message and from a mirror
 * ```ts
 * import { iconUrl } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   iconUrl({ icon: "mnsw2ykc6qa5sbn", aid_str: "435443636951759403" }),
 *   "https://api.pushover.net/icons/mnsw2ykc6qa5sbn.png",
 * );
 * assert.equal(
 *   iconUrl({ icon: "", aid_str: "1" }),
 *   "https://api.pushover.net/icons/pushover.png",
 * );
 * assert.equal(
 *   iconUrl({ icon: "ifttt", aid_str: "7" }, { assetUrl: "http://127.0.0.1:8080/" }),
 *   "http://127.0.0.1:8080/icons/ifttt.png",
 * );
 * ```
 */
export function iconUrl(
  message: Pick<Message, "icon" | "aid_str">,
  options: AssetOptions = {},
): string {
  const action = "build the icon URL";
  if (typeof message !== "object" || message === null) {
    throw new TypeError(
      `Cannot ${action}: 'message' must be an object: current value is ${
        describe(message)
      }`,
    );
  }
  // Old captures show `"icon": null`; anything but a non-empty string falls back.
  const { icon, aid_str: aid } = message;
  const name = typeof icon === "string" && icon !== ""
    ? icon
    : aid === "1"
    ? "pushover"
    : "default";
  return `${baseOf(options, action)}/icons/${encodeURIComponent(name)}.png`;
}

/**
 * The address of a sound file (`{assetUrl}/sounds/{code}.{format}`), for a
 * two-letter code or a long name. When a message has no `sound`, play the
 * device's `default_sound` instead.
 *
 * @param sound A code such as `"si"` or a name such as `"siren"`.
 * @param options Where the assets are served and which format to fetch.
 * @returns The sound file's URL; the code is percent-encoded.
 * @throws {TypeError} `sound` is not a non-empty string.
 * @throws {RangeError} `format` is neither `"wav"` nor `"mp3"`.
 *
 * @example The sound of a message, as WAV and MP3
 * ```ts
 * import { soundUrl } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const message = { sound: "si" };
 * assert.equal(
 *   soundUrl(message.sound ?? "po"),
 *   "https://api.pushover.net/sounds/si.wav",
 * );
 * assert.equal(
 *   soundUrl("siren", { format: "mp3" }),
 *   "https://api.pushover.net/sounds/si.mp3",
 * );
 * ```
 */
export function soundUrl(sound: string, options: SoundUrlOptions = {}): string {
  const action = "build the sound URL";
  const code = soundCode(requireString(sound, "sound", action));
  const format = options.format ?? "wav";
  if (format !== "wav" && format !== "mp3") {
    throw new RangeError(
      `Cannot ${action}: 'format' must be 'wav' or 'mp3': current value is ${
        describe(format)
      }`,
    );
  }
  return `${baseOf(options, action)}/sounds/${
    encodeURIComponent(code)
  }.${format}`;
}

/** `options.assetUrl` (or the default) without trailing slashes. */
function baseOf(options: AssetOptions, action: string): string {
  let base = options?.assetUrl === undefined
    ? DEFAULT_ASSET_URL
    : requireString(options.assetUrl, "assetUrl", action);
  // A loop rather than /\/+$/, which backtracks on long runs of slashes.
  while (base.endsWith("/")) base = base.slice(0, -1);
  return base;
}
