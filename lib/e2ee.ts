// End-to-end encrypted messages: each of `message`, `title`, `url` and
// `url_title` may hold base64(IV ‖ AES-256-CBC(gzip(UTF-8)) ‖ HMAC-SHA256),
// with one 256-bit key for both AES and the HMAC. Only WebCrypto and
// DecompressionStream: no dependency, every runtime.

import { DecryptionError } from "./errors.ts";
import type { Message } from "./types.ts";

/** The fields a sender may encrypt, each on its own. */
const FIELDS = ["message", "title", "url", "url_title"] as const;
const KEY = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const IV_BYTES = 16, MAC_BYTES = 32, BLOCK = 16;
/** Messages of a batch decrypted at once. */
const PARALLEL = 32;
/**
 * The base64 of the shortest field: IV + the shortest ciphertext (gzip is
 * at least 20 bytes, so 32) + MAC = 80 bytes.
 */
const MIN_LENGTH = 108;

/** Decrypts the messages of one key; the key is imported once. */
export interface Decryptor {
  /**
   * A copy with each encrypted field replaced by its plaintext and
   * `e2ee: "decrypted"`; a message with nothing encrypted comes back as it is.
   * Throws {@linkcode DecryptionError} when a field fails.
   */
  decrypt(message: Message): Promise<Message>;
}

/**
 * Checks the key (64 hex characters, either case) before any work and
 * returns a decryptor holding its imported CryptoKeys.
 */
export function createDecryptor(
  key: unknown,
  action: string,
  name: string,
): Decryptor {
  const bytes = keyBytes(key, action, name);
  /** The AES key and the HMAC key, imported at the first encrypted field. */
  let keys: Promise<[CryptoKey, CryptoKey]> | undefined;
  const imported = () =>
    keys ??= Promise.all([
      crypto.subtle.importKey("raw", bytes, "AES-CBC", false, ["decrypt"]),
      crypto.subtle.importKey(
        "raw",
        bytes,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["verify"],
      ),
    ]);
  return {
    async decrypt(message) {
      const flagged = isFlagged(message);
      const plain: Partial<Record<(typeof FIELDS)[number], string>> = {};
      // The fields are independent: decrypt them side by side.
      await Promise.all(FIELDS.map(async (field) => {
        const value = message[field];
        if (typeof value !== "string") return;
        const sealed = sealedBytes(value);
        if (!sealed) {
          // Not of the shape: plaintext, unless the server said otherwise
          // for a field that clearly tried to be base64.
          if (flagged && BASE64.test(value) && value.length >= 24) {
            throw new DecryptionError(field, "format");
          }
          return;
        }
        const [aes, mac] = await imported();
        const text = await open(sealed, aes, mac, field);
        if (text === undefined) {
          // A MAC that does not verify on a field that only looks encrypted
          // is plaintext that happens to be base64-shaped.
          if (!flagged) return;
          throw new DecryptionError(field, "mac");
        }
        plain[field] = text;
      }));
      if (Object.keys(plain).length === 0) {
        if (flagged) {
          throw new DecryptionError(
            "message",
            "format",
            "the server marks it encrypted, but no field holds an encrypted value",
          );
        }
        return message;
      }
      return { ...message, ...plain, e2ee: "decrypted" };
    },
  };
}

/**
 * Decrypts a batch with `decryptor`; a message that cannot be decrypted is
 * never dropped: it comes as it came, marked `e2ee: "failed"`, and `failed`
 * hears of it.
 */
export async function decryptAll(
  messages: Message[],
  decryptor: Decryptor,
  failed: (message: Message, error: DecryptionError) => void = () => {},
): Promise<Message[]> {
  const one = async (
    message: Message,
  ): Promise<{ message: Message; error?: DecryptionError }> => {
    try {
      return { message: await decryptor.decrypt(message) };
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      return { message: { ...message, e2ee: "failed" }, error };
    }
  };
  // Side by side, a slice at a time (WebCrypto and gunzip are asynchronous;
  // a burst must not start thousands at once); failures told in id order.
  const out: Message[] = [];
  for (let i = 0; i < messages.length; i += PARALLEL) {
    const slice = messages.slice(i, i + PARALLEL);
    const results = await Promise.all(slice.map(one));
    results.forEach(({ message, error }, j) => {
      if (error) failed(slice[j], error);
      out.push(message);
    });
  }
  return out;
}

/** Marks the messages the server marks encrypted `e2ee: "encrypted"`. */
export function markEncrypted(messages: Message[]): Message[] {
  return messages.map((m) => isFlagged(m) ? { ...m, e2ee: "encrypted" } : m);
}

/** Whether the server marks the message as end-to-end encrypted. */
export function isFlagged(message: Message): boolean {
  const flag: unknown = message.encrypted;
  return flag === 1 || flag === true || flag === "1";
}

/**
 * Decrypts a message encrypted end to end by its sender, with the key the
 * user set on their devices. Fields that are not encrypted pass through.
 *
 * @param message A downloaded or streamed message.
 * @param key The 256-bit key as 64 hexadecimal characters (either case).
 * @returns A copy with every encrypted field (`message`, `title`, `url`,
 * `url_title`) replaced by its plaintext and `e2ee: "decrypted"`; ids and
 * everything else unchanged. A message with nothing encrypted comes back as
 * it is.
 * @throws {TypeError} `key` is not a string (before any work).
 * @throws {RangeError} `key` is not 64 hexadecimal characters (before any work).
 * @throws {DecryptionError} A field fails; its `reason` says why: `"mac"`, the
 * HMAC does not verify (wrong key, altered field); `"padding"`, `"gzip"` or
 * `"utf8"`, what the HMAC covers is broken; `"format"`, the server marks the
 * message encrypted but a field is not a whole encrypted one, or none is.
 *
 * @example Decrypt what a sender encrypted with the user's key
 * ```ts
 * import { decryptMessage } from "@openpush/pushover-open-client";
 * import type { Message } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const key = "1f046d257b8eeaf278c5218fe03a9887c21f80ecd5ad11e39f28cb7cb8b9ce03";
 * const message = {
 *   id: 7, id_str: "7", app: "Sonarr", title: "Grab",
 *   message: "3sBQOOIEaZjUiKRl9RckIeIzhMWE7ujDDSUYqrrFgHc65ll9sKpu1KTVM7mWXp/bVUi7f0SwzRZNKhumn7aaJ4rTGnwlCw9roA0RmLdHITTIuPeL/PXPawSN2tvklam3bAZxcbOslp1JMlZ+55wShQ==",
 * } as Message;
 * const plain = await decryptMessage(message, key);
 * assert.equal(plain.message, "known-vector regression check");
 * assert.equal(plain.title, "Grab"); // plaintext passes through
 * assert.equal(plain.e2ee, "decrypted");
 * ```
 */
export function decryptMessage(
  message: Message,
  key: string,
): Promise<Message> {
  try {
    return cachedDecryptor(key).decrypt(message);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The last few keys' decryptors, so repeated calls import each key once. */
const recent = new Map<unknown, Decryptor>();
const RECENT_KEYS = 4;

function cachedDecryptor(key: unknown): Decryptor {
  // Either case is the same key; anything else fails in createDecryptor.
  const normal = typeof key === "string" ? key.toLowerCase() : key;
  let decryptor = recent.get(normal);
  if (!decryptor) {
    // Throws for a bad key, which thus never reaches the cache.
    decryptor = createDecryptor(normal, "decrypt the message", "key");
    if (recent.size >= RECENT_KEYS) recent.delete(recent.keys().next().value);
    recent.set(normal, decryptor);
  }
  return decryptor;
}

function keyBytes(
  key: unknown,
  action: string,
  name: string,
): Uint8Array<ArrayBuffer> {
  if (typeof key !== "string") {
    throw new TypeError(
      `Cannot ${action}: '${name}' must be a string of 64 hexadecimal characters: current value is ${
        key === null ? "null" : typeof key
      }`,
    );
  }
  if (!KEY.test(key)) {
    // Never echo the key, not even a part of it.
    throw new RangeError(
      `Cannot ${action}: '${name}' must be 64 hexadecimal characters (a 256-bit key): current value has ${key.length} characters${
        key.length === 64 ? " of which some are not hexadecimal" : ""
      }`,
    );
  }
  // 32 pairs of hexadecimal digits, as KEY checked.
  return Uint8Array.from(key.match(/../g)!, (pair) => parseInt(pair, 16));
}

/** The field's bytes when it has the exact shape of an encrypted field. */
function sealedBytes(value: string): Uint8Array<ArrayBuffer> | undefined {
  // Padded base64 of the alphabet alone: atob would take it unpadded or with
  // spaces too. After these checks atob cannot throw.
  if (
    value.length < MIN_LENGTH || value.length % 4 !== 0 || !BASE64.test(value)
  ) {
    return undefined;
  }
  const binary = atob(value);
  // IV and MAC are whole blocks, so the field is whole blocks when the
  // ciphertext is; then 108 characters are at least 80 bytes.
  if (binary.length % BLOCK !== 0) return undefined;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Verifies the HMAC (constant time, by WebCrypto) before anything else;
 * undefined when it does not verify. Then decrypts, gunzips, decodes.
 */
async function open(
  sealed: Uint8Array<ArrayBuffer>,
  aes: CryptoKey,
  mac: CryptoKey,
  field: string,
): Promise<string | undefined> {
  const signed = sealed.subarray(0, sealed.length - MAC_BYTES);
  const tag = sealed.subarray(sealed.length - MAC_BYTES);
  if (!await crypto.subtle.verify("HMAC", mac, tag, signed)) return undefined;
  const iv = sealed.subarray(0, IV_BYTES);
  const ciphertext = sealed.subarray(IV_BYTES, sealed.length - MAC_BYTES);
  let gzipped: ArrayBuffer;
  try {
    gzipped = await crypto.subtle.decrypt(
      { name: "AES-CBC", iv },
      aes,
      ciphertext,
    );
  } catch {
    throw new DecryptionError(field, "padding");
  }
  let bytes: Uint8Array;
  try {
    bytes = await gunzip(gzipped);
  } catch {
    throw new DecryptionError(field, "gzip");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DecryptionError(field, "utf8");
  }
}

async function gunzip(data: ArrayBuffer): Promise<Uint8Array> {
  const gzip = new DecompressionStream("gzip");
  const writer = gzip.writable.getWriter();
  // Errors surface on the readable side, read below.
  writer.write(new Uint8Array(data)).catch(() => {});
  writer.close().catch(() => {});
  // Read by hand: a Response around the stream costs Node twice as much.
  const reader = gzip.readable.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    chunks.push(read.value);
    length += read.value.length;
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
