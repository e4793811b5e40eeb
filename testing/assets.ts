// Icons and sounds, as tiny but valid files (testing/README.md, "Assets").

const PNG_1X1 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";

/** Pushover's sound codes (testing/README.md, "Assets"). */
export const SOUND_CODES = [
  "po",
  "bk",
  "bu",
  "ch",
  "cl",
  "co",
  "fa",
  "gl",
  "ic",
  "im",
  "ma",
  "mc",
  "pn",
  "si",
  "sp",
  "tg",
  "ln",
  "mb",
  "ps",
  "ec",
  "ud",
  "no",
];

/** A PNG for `/icons/{name}.png`; `default` and `pushover` always exist. */
export function iconResponse(name: string, known: Set<string>): Response {
  if (name !== "default" && name !== "pushover" && !known.has(name)) {
    return notFound();
  }
  const bytes = Uint8Array.from(atob(PNG_1X1), (c) => c.charCodeAt(0));
  return new Response(bytes, { headers: { "content-type": "image/png" } });
}

/** A silent WAV or MP3 for `/sounds/{code}.{ext}`. */
export function soundResponse(code: string, ext: string): Response {
  if (!SOUND_CODES.includes(code)) return notFound();
  if (ext === "mp3") {
    const id3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0]);
    return new Response(id3, { headers: { "content-type": "audio/mpeg" } });
  }
  return new Response(silentWav(), {
    headers: { "content-type": "audio/wav" },
  });
}

/** The site's HTML 404 page: clients must cope with non-JSON error bodies. */
export function notFound(): Response {
  return new Response(
    "<!DOCTYPE html><html><head><title>Pushover: Not Found</title></head><body><h1>Not Found</h1></body></html>",
    { status: 404, headers: { "content-type": "text/html; charset=utf-8" } },
  );
}

function silentWav(): Uint8Array<ArrayBuffer> {
  const view = new DataView(new ArrayBuffer(44));
  const ascii = (at: number, text: string) =>
    [...text].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  view.setUint32(4, 36, true);
  ascii(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, 8000, true);
  view.setUint32(28, 8000, true);
  view.setUint16(32, 1, true);
  view.setUint16(34, 8, true);
  ascii(36, "data");
  view.setUint32(40, 0, true);
  return new Uint8Array(view.buffer);
}
