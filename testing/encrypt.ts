// What an encrypting sender does to a field (testing/README.md, "End-to-end
// encryption"): base64(IV ‖ AES-256-CBC(gzip(UTF-8), PKCS#7) ‖
// HMAC-SHA256(key, IV ‖ ciphertext)). It lives in the fake only — the
// library decrypts, it never encrypts — and uses node:crypto and node:zlib,
// loaded when first needed, so the rest of the fake still runs where they
// are missing (a Worker).

interface NodeCrypto {
  randomBytes(size: number): Uint8Array;
  createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): {
    update(data: Uint8Array): Uint8Array;
    final(): Uint8Array;
  };
  createHmac(algorithm: string, key: Uint8Array): {
    update(data: Uint8Array): { digest(): Uint8Array };
  };
}
interface NodeZlib {
  gzipSync(data: Uint8Array): Uint8Array;
}

function builtin<T>(name: string): T {
  const process = (globalThis as {
    process?: { getBuiltinModule?: (name: string) => unknown };
  }).process;
  const module = process?.getBuiltinModule?.(name);
  if (!module) {
    throw new Error(
      `encryptWith needs ${name}, which this runtime lacks: send encrypted messages from a fake on Deno, Bun or Node`,
    );
  }
  return module as T;
}

/** Options of one encryption, for fixed test vectors. */
export interface EncryptOptions {
  /** The 16-byte IV; random by default. */
  iv?: Uint8Array;
  /** Unix seconds written into the gzip header's MTIME; 0 by default. */
  mtime?: number;
}

/** Encrypts `text` with the 64-hex-character `key` as a sender does. */
export function encryptField(
  text: string,
  key: string,
  { iv, mtime = 0 }: EncryptOptions = {},
): string {
  if (!/^[0-9a-fA-F]{64}$/.test(key)) {
    throw new RangeError("encryptWith must be 64 hexadecimal characters");
  }
  const crypto = builtin<NodeCrypto>("node:crypto");
  const zlib = builtin<NodeZlib>("node:zlib");
  const keyBytes = Uint8Array.from(
    key.match(/../g)!.map((pair) => parseInt(pair, 16)),
  );
  const vector = iv ?? crypto.randomBytes(16);
  const gzipped = Uint8Array.from(
    zlib.gzipSync(new TextEncoder().encode(text)),
  );
  // MTIME sits in bytes 4–7, little-endian, outside the CRC.
  new DataView(gzipped.buffer).setUint32(4, mtime, true);
  const cipher = crypto.createCipheriv("aes-256-cbc", keyBytes, vector);
  const ciphertext = concat(cipher.update(gzipped), cipher.final());
  const signed = concat(vector, ciphertext);
  const mac = crypto.createHmac("sha256", keyBytes).update(signed).digest();
  return btoa(String.fromCharCode(...concat(signed, mac)));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
