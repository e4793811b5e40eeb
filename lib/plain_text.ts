import type { Message } from "./types.ts";

/**
 * The body of a message as plain text, for a system notification, a terminal
 * or a log. An HTML body (`html` is 1) loses its markup: `<b>`, `<i>`, `<u>`
 * and `<font>` are dropped, `<br>` becomes a newline, a link keeps its target
 * visible after its text (`site (https://x)`, or the URL alone when the text
 * is the URL) and character references such as `&amp;` and `&#x1F600;` are
 * decoded. Plain bodies come back unchanged.
 *
 * Anything else is handled as a browser would, minus the rendering: other
 * tags and comments are removed, `<script>` and `<style>` lose their content
 * too, and a `<` that does not start a tag stays text. Markup left open at
 * the end of the body (`a <b c`) is kept as text rather than lost. Nothing is
 * ever executed or fetched: a `javascript:` link is just shown. The scan is
 * linear in the body's length whatever it holds.
 *
 * The result is text, not HTML: `&lt;script&gt;` becomes `<script>`, so escape
 * it before putting it into a page.
 *
 * @param message The message, or just its `message` and `html` fields.
 * @returns The body without markup.
 *
 * @example Notify with the text of an HTML message
 * ```ts
 * import { toPlainText } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   toPlainText({
 *     message: 'Disk <b>95%</b> full<br>See <a href="https://example.com/db">the dashboard</a> &amp; act',
 *     html: 1,
 *   }),
 *   "Disk 95% full\nSee the dashboard (https://example.com/db) & act",
 * );
 * assert.equal(toPlainText({ message: "1 <b>2</b>" }), "1 <b>2</b>");
 * ```
 */
export function toPlainText(
  message: Pick<Message, "message" | "html">,
): string {
  const body = message.message;
  // A message without a body (a server's or a sender's slip) is empty text.
  if (typeof body !== "string") return "";
  if (message.html !== 1) return body;
  return new Scanner(body).run();
}

/** One tag as read by {@linkcode readTag}. */
interface Tag {
  /** Lower-case ASCII name. */
  name: string;
  end: boolean;
  /** Decoded `href` value, when the tag has one. */
  href: string | undefined;
  /** Index just past the tag's `>`. */
  next: number;
}

/** An `<a>` whose text is being written. */
interface OpenLink {
  href: string;
  /** Number of output pieces when the link started. */
  start: number;
}

// Every loop below only moves forward, and each search (`indexOf`) starts past
// what was already read, so the whole scan is linear in the input's length.
class Scanner {
  #s: string;
  #i = 0;
  /** The output in pieces, joined once at the end. */
  #out: string[] = [];
  #link: OpenLink | undefined;
  /** Set once some markup ran open to the end: every later `<` is text. */
  #open = false;

  constructor(s: string) {
    this.#s = s;
  }

  run(): string {
    const s = this.#s;
    while (this.#i < s.length) {
      const c = s.charCodeAt(this.#i);
      if (c === LT && !this.#open) this.#markup();
      else if (c === AMP) this.#entity();
      else this.#text();
    }
    this.#closeLink();
    return this.#out.join("");
  }

  /** Copies a run of plain characters. */
  #text(): void {
    const s = this.#s;
    const start = this.#i;
    let i = start + 1;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === LT || c === AMP) break;
      i++;
    }
    this.#out.push(s.slice(start, i));
    this.#i = i;
  }

  /** Decodes a character reference at `&`, or copies the `&` as text. */
  #entity(): void {
    const [text, next] = decodeEntity(this.#s, this.#i, false);
    this.#out.push(text);
    this.#i = next;
  }

  /** Handles what starts at a `<`: a tag, a comment, or a literal `<`. */
  #markup(): void {
    const s = this.#s;
    const i = this.#i;
    const next = s.charCodeAt(i + 1);
    if (s.startsWith("<!--", i)) {
      // `<!-->` and `<!--->` are complete (empty) comments, as in browsers.
      const close = s.indexOf("-->", i + 2);
      return close === -1 ? this.#literal(true) : this.#skipTo(close + 3);
    }
    if (next === BANG || next === QUESTION) {
      // `<!DOCTYPE …>`, `<![CDATA[…]]>`, `<?xml …?>`: ignored up to `>`.
      const close = s.indexOf(">", i + 2);
      return close === -1 ? this.#literal(true) : this.#skipTo(close + 1);
    }
    if (next === SLASH && s.charCodeAt(i + 2) === GT) {
      return this.#skipTo(i + 3);
    }
    const end = next === SLASH;
    if (!isAsciiLetter(end ? s.charCodeAt(i + 2) : next)) {
      return this.#literal(); // `a < b`, `<3`, `</ x`
    }
    const tag = readTag(s, i + (end ? 2 : 1), end);
    if (tag === undefined) return this.#literal(true);
    this.#i = tag.next;
    this.#apply(tag);
  }

  #apply(tag: Tag): void {
    switch (tag.name) {
      case "br": // `</br>` is a line break too
        this.#out.push("\n");
        return;
      case "a":
        this.#closeLink();
        if (!tag.end && tag.href) {
          this.#link = { href: tag.href, start: this.#out.length };
        }
        return;
      case "script":
      case "style":
        if (!tag.end) this.#skipRawText(tag.name);
        return;
    }
  }

  /**
   * Writes the target of the open link after its text, before any whitespace
   * the text ends with.
   */
  #closeLink(): void {
    const link = this.#link;
    if (link === undefined) return;
    this.#link = undefined;
    // Each piece is rejoined at most once (links never overlap): linear.
    const body = this.#out.splice(link.start).join("");
    const text = body.trim();
    if (text === link.href) {
      this.#out.push(body);
      return;
    }
    const kept = body.trimEnd();
    const target = text === "" ? link.href : ` (${link.href})`;
    this.#out.push(kept, target, body.slice(kept.length));
  }

  /** Drops a script's or a style's content and its end tag. */
  #skipRawText(name: string): void {
    const s = this.#s;
    let from = this.#i;
    for (;;) {
      const at = s.indexOf("</", from);
      if (at === -1) return this.#skipTo(s.length); // open to the end: drop it
      const after = s.charCodeAt(at + 2 + name.length);
      if (
        s.slice(at + 2, at + 2 + name.length).toLowerCase() === name &&
        (isSpace(after) || after === SLASH || after === GT ||
          Number.isNaN(after))
      ) {
        const tag = readTag(s, at + 2, true);
        return this.#skipTo(tag === undefined ? s.length : tag.next);
      }
      from = at + 2;
    }
  }

  /**
   * Keeps the `<` as text. When the markup it starts runs to the end of the
   * input, no later `<` can start anything either (or only by reusing what
   * this one read), so they all stay text: that keeps the scan linear.
   */
  #literal(open = false): void {
    if (open) this.#open = true;
    this.#out.push("<");
    this.#i++;
  }

  #skipTo(index: number): void {
    this.#i = index;
  }
}

/**
 * Reads a tag from its name (at `start`, just past `<` or `</`) to its `>`,
 * skipping quoted attribute values, which may hold `>`. A quote that never
 * closes is taken as a plain character: the tag then ends at the first `>`.
 * Returns `undefined` when no `>` ends the tag.
 */
function readTag(s: string, start: number, end: boolean): Tag | undefined {
  let i = start;
  while (i < s.length && !isSpace(s.charCodeAt(i)) && !isSlashOrGt(s, i)) i++;
  const name = s.slice(start, i).toLowerCase();
  let href: string | undefined;
  for (;;) {
    while (i < s.length && (isSpace(s.charCodeAt(i)) || s[i] === "/")) i++;
    if (i >= s.length) return undefined;
    if (s[i] === ">") break;
    // Attribute name: up to space, `/`, `>` or `=` (its first character may be `=`).
    const nameStart = i++;
    while (
      i < s.length && !isSpace(s.charCodeAt(i)) && !isSlashOrGt(s, i) &&
      s[i] !== "="
    ) i++;
    const attribute = s.slice(nameStart, i).toLowerCase();
    while (i < s.length && isSpace(s.charCodeAt(i))) i++;
    if (s[i] !== "=") continue;
    i++;
    while (i < s.length && isSpace(s.charCodeAt(i))) i++;
    let value: string;
    const quote = s[i];
    if (quote === '"' || quote === "'") {
      const close = s.indexOf(quote, i + 1);
      if (close === -1) {
        // At most one such search per quote character can run to the end of
        // the input (no later quote of that kind exists), so this stays linear.
        const gt = s.indexOf(">", i + 1);
        if (gt === -1) return undefined;
        return { name, end, href, next: gt + 1 };
      }
      value = s.slice(i + 1, close);
      i = close + 1;
    } else {
      const valueStart = i;
      while (i < s.length && !isSpace(s.charCodeAt(i)) && s[i] !== ">") i++;
      value = s.slice(valueStart, i);
    }
    if (attribute === "href" && href === undefined) href = cleanUrl(value);
  }
  return { name, end, href, next: i + 1 };
}

/**
 * Decodes an attribute value, then drops what URL parsers drop: tabs and
 * newlines anywhere, controls and spaces at either end.
 */
function cleanUrl(value: string): string {
  let decoded = "";
  let i = 0;
  while (i < value.length) {
    const amp = value.indexOf("&", i);
    if (amp === -1) {
      decoded += value.slice(i);
      break;
    }
    decoded += value.slice(i, amp);
    const [text, next] = decodeEntity(value, amp, true);
    decoded += text;
    i = next;
  }
  let out = "";
  for (const c of decoded) {
    if (c !== "\t" && c !== "\n" && c !== "\r") out += c;
  }
  let start = 0;
  let end = out.length;
  while (start < end && out.charCodeAt(start) <= 0x20) start++;
  while (end > start && out.charCodeAt(end - 1) <= 0x20) end--;
  return out.slice(start, end);
}

/**
 * Decodes the character reference at `s[i]` (an `&`). Returns the text and
 * the index after it; an `&` that starts no known reference is returned alone.
 * Named references need their `;`, except the few legacy ones (`&amp`, `&lt`
 * …) when no letter, digit or (in attributes) `=` follows.
 */
function decodeEntity(
  s: string,
  i: number,
  inAttribute: boolean,
): [string, number] {
  let j = i + 1;
  if (s[j] === "#") {
    j++;
    const hex = s[j] === "x" || s[j] === "X";
    if (hex) j++;
    const digitsStart = j;
    let code = 0;
    for (; j < s.length; j++) {
      const digit = digitValue(s.charCodeAt(j), hex);
      if (digit < 0) break;
      // Stop growing once out of range, however many digits follow.
      if (code <= 0x10ffff) code = code * (hex ? 16 : 10) + digit;
    }
    if (j === digitsStart) return ["&", i + 1]; // `&#;`, `&#xZZ;`: not a reference
    if (s[j] === ";") j++;
    return [fromCodePoint(code), j];
  }
  const nameStart = j;
  while (j < s.length && isAsciiAlphanumeric(s.charCodeAt(j))) j++;
  const name = s.slice(nameStart, j);
  const text = NAMED.get(name);
  if (text !== undefined) {
    if (s[j] === ";") return [text, j + 1];
    const after = s[j];
    if (LEGACY.has(name) && !(inAttribute && after === "=")) {
      return [text, j];
    }
  }
  return ["&", i + 1];
}

/** A numeric reference's character, mapped the way HTML does. */
function fromCodePoint(code: number): string {
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
    return "\uFFFD";
  }
  // References to C1 controls mean the Windows-1252 character (`&#150;` is –).
  if (code >= 0x80 && code <= 0x9f) {
    const mapped = WINDOWS_1252.charCodeAt(code - 0x80);
    if (mapped !== 0x20) return String.fromCharCode(mapped);
  }
  return String.fromCodePoint(code);
}

/** U+0080…U+009F in Windows-1252; a space marks codes kept as they are. */
const WINDOWS_1252 =
  "\u20AC \u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152 \u017D  " +
  "\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153 \u017E\u0178";

/** Named references decoded; unknown ones stay as written. */
const NAMED: ReadonlyMap<string, string> = new Map([
  ["amp", "&"],
  ["lt", "<"],
  ["gt", ">"],
  ["quot", '"'],
  ["apos", "'"],
  ["nbsp", "\u00A0"],
  ["AMP", "&"],
  ["LT", "<"],
  ["GT", ">"],
  ["QUOT", '"'],
  ["copy", "©"],
  ["reg", "®"],
  ["trade", "™"],
  ["deg", "°"],
  ["plusmn", "±"],
  ["times", "×"],
  ["divide", "÷"],
  ["micro", "µ"],
  ["middot", "·"],
  ["para", "¶"],
  ["sect", "§"],
  ["cent", "¢"],
  ["pound", "£"],
  ["yen", "¥"],
  ["euro", "€"],
  ["laquo", "«"],
  ["raquo", "»"],
  ["iexcl", "¡"],
  ["iquest", "¿"],
  ["shy", "\u00AD"],
  ["frac14", "¼"],
  ["frac12", "½"],
  ["frac34", "¾"],
  ["sup2", "²"],
  ["sup3", "³"],
  ["ndash", "–"],
  ["mdash", "—"],
  ["lsquo", "‘"],
  ["rsquo", "’"],
  ["sbquo", "‚"],
  ["ldquo", "“"],
  ["rdquo", "”"],
  ["bdquo", "„"],
  ["hellip", "…"],
  ["bull", "•"],
  ["prime", "′"],
  ["Prime", "″"],
  ["larr", "←"],
  ["uarr", "↑"],
  ["rarr", "→"],
  ["darr", "↓"],
  ["harr", "↔"],
  ["minus", "−"],
  ["le", "≤"],
  ["ge", "≥"],
  ["ne", "≠"],
  ["infin", "∞"],
  ["check", "✓"],
  ["ensp", "\u2002"],
  ["emsp", "\u2003"],
  ["thinsp", "\u2009"],
  ["zwnj", "\u200C"],
  ["zwj", "\u200D"],
]);

/** Names HTML also decodes without a `;` (among those in {@linkcode NAMED}). */
const LEGACY: ReadonlySet<string> = new Set([
  "amp",
  "lt",
  "gt",
  "quot",
  "nbsp",
  "AMP",
  "LT",
  "GT",
  "QUOT",
  "copy",
  "reg",
  "deg",
  "plusmn",
  "times",
  "divide",
  "micro",
  "middot",
  "para",
  "sect",
  "cent",
  "pound",
  "yen",
  "laquo",
  "raquo",
  "iexcl",
  "iquest",
  "shy",
  "frac14",
  "frac12",
  "frac34",
  "sup2",
  "sup3",
]);

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const BANG = 0x21;
const QUESTION = 0x3f;
const SLASH = 0x2f;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

function isSlashOrGt(s: string, i: number): boolean {
  return s[i] === "/" || s[i] === ">";
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isAsciiAlphanumeric(c: number): boolean {
  return isAsciiLetter(c) || (c >= 0x30 && c <= 0x39);
}

/** The value of a digit in base 10 or 16, or -1. */
function digitValue(c: number, hex: boolean): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (!hex) return -1;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}
