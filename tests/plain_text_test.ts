import assert from "node:assert/strict";
import { test } from "node:test";
import { toPlainText } from "../mod.ts";

const html = (message: string): string => toPlainText({ message, html: 1 });

test("toPlainText() returns plain bodies unchanged, tags and entities included", () => {
  const body = 'Disk <b>95%</b> &amp; <script>x</script> <a href="y">z</a>';
  assert.equal(toPlainText({ message: body }), body);
  assert.equal(toPlainText({ message: body, html: 0 }), body);
  assert.equal(toPlainText({ message: "" }), "");
});

test("toPlainText() drops the documented formatting tags", () => {
  assert.equal(
    html(
      '<b>bold</b>, <i>italic</i>, <u>under</u>, <font color="#ff0000">red</font>',
    ),
    "bold, italic, under, red",
  );
  assert.equal(html("<font color=blue>blue</font>"), "blue");
});

test("toPlainText() turns <br> into a newline and keeps other whitespace", () => {
  assert.equal(
    html("one<br>two<br/>three<BR />four</br>five"),
    "one\ntwo\nthree\nfour\nfive",
  );
  assert.equal(html("a\n  b\tc"), "a\n  b\tc");
});

test("toPlainText() keeps a link's target visible after its text", () => {
  assert.equal(
    html('See <a href="https://example.com/db">the dashboard</a>.'),
    "See the dashboard (https://example.com/db).",
  );
  assert.equal(
    html("<a href='https://x.example'><b>bold</b> link</a>"),
    "bold link (https://x.example)",
  );
});

test("toPlainText() shows the URL once when the link text is the URL", () => {
  assert.equal(
    html('Go to <a href="https://x.example/">https://x.example/</a> now'),
    "Go to https://x.example/ now",
  );
  assert.equal(
    html('<a href="https://x.example/"> https://x.example/ </a>'),
    " https://x.example/ ",
  );
});

test("toPlainText() shows the URL alone for a link without text", () => {
  assert.equal(
    html('[<a href="https://x.example"></a>]'),
    "[https://x.example]",
  );
  assert.equal(
    html('[<a href="https://x.example"> </a>]'),
    "[https://x.example ]",
  );
});

test("toPlainText() puts the target before the whitespace a link text ends with", () => {
  assert.equal(
    html('<a href="https://x.example">site </a>next'),
    "site (https://x.example) next",
  );
});

test("toPlainText() keeps the text of links without a target", () => {
  assert.equal(
    html('<a href="">empty</a> <a>none</a> <a name=x>n</a>'),
    "empty none n",
  );
});

test("toPlainText() decodes named references", () => {
  assert.equal(
    html("&amp; &lt; &gt; &quot; &apos; [&nbsp;] &copy; &hellip; &euro;"),
    "& < > \" ' [\u00A0] © … €",
  );
});

test("toPlainText() decodes decimal and hex references", () => {
  assert.equal(html("&#65;&#x42;&#X43;&#x1f600;&#128512;"), "ABC😀😀");
  assert.equal(html("&#65 &#x42"), "A B"); // the semicolon is optional
});

test("toPlainText() replaces invalid code points with U+FFFD", () => {
  assert.equal(
    html("[&#0;][&#99999999;][&#x110000;][&#xD800;][&#xDFFF;]"),
    "[\uFFFD][\uFFFD][\uFFFD][\uFFFD][\uFFFD]",
  );
  assert.equal(html("&#" + "9".repeat(400) + ";"), "\uFFFD");
});

test("toPlainText() maps references to C1 controls as Windows-1252, like browsers", () => {
  assert.equal(html("&#150; &#x80; &#153;"), "– € ™");
});

test("toPlainText() leaves unknown and malformed references as written", () => {
  assert.equal(
    html("&unknown; &#xZZ; &#; &# & x &;"),
    "&unknown; &#xZZ; &#; &# & x &;",
  );
});

const corpus: [name: string, input: string, expected: string][] = [
  ["unclosed formatting tag", "<b>never closed", "never closed"],
  ["misnested tags", "<b>bold <i>both</b> italic</i>", "bold both italic"],
  [
    "deeply nested tags",
    "<b>".repeat(50) + "deep" + "</b>".repeat(50),
    "deep",
  ],
  [
    "upper- and mixed-case tags",
    '<B>Up</B> <A HREF="https://x.example">X</A> <ScRiPt>alert(1)</sCrIpT>!',
    "Up X (https://x.example) !",
  ],
  [
    "script with content, including tags and quotes",
    'a<script>alert("<b>hi</b>")</script>b',
    "ab",
  ],
  [
    "script end tag with attributes and spaces, fake end tag inside",
    'a<script type="module">if (a </scripts) {}</script foo="x>" >b',
    "ab",
  ],
  ["style with content", "a<style>p { color: red }</style>b", "ab"],
  ["script left open to the end", "a<script>document.cookie b", "a"],
  [
    "double-quoted attribute holding > and '",
    `<a href="https://x.example/?q='>'">double</a>`,
    "double (https://x.example/?q='>')",
  ],
  [
    'single-quoted attribute holding > and "',
    `<a href='https://x.example/?q=">'>single</a>`,
    'single (https://x.example/?q=">)',
  ],
  [
    "unquoted attribute",
    "<a href=https://x.example/bare>bare</a>",
    "bare (https://x.example/bare)",
  ],
  [
    "javascript: href, shown as text only",
    '<a href="javascript:alert(document.cookie)">click</a>',
    "click (javascript:alert(document.cookie))",
  ],
  [
    "javascript: href hidden with entities, tabs and spaces",
    '<a href=" java&#x09;scr&#10;ipt:alert(1) ">x</a>',
    "x (javascript:alert(1))",
  ],
  [
    "entities inside href",
    '<a href="https://x.example/?a=1&amp;b=2&#38;c=3">q</a>',
    "q (https://x.example/?a=1&b=2&c=3)",
  ],
  [
    "legacy entity without semicolon in an attribute followed by =",
    '<a href="https://x.example/?a=1&amp=2">q</a>',
    "q (https://x.example/?a=1&amp=2)",
  ],
  ["&amp without semicolon", "Tom &amp Jerry&amp", "Tom & Jerry&"],
  ["&amp glued to letters", "&ampfoo &ltx", "&ampfoo &ltx"],
  [
    "entity names that are Object properties",
    "&constructor; &__proto__; &toString; &hasOwnProperty;",
    "&constructor; &__proto__; &toString; &hasOwnProperty;",
  ],
  ["double-encoded entity decoded once", "&amp;lt;b&amp;gt;", "&lt;b&gt;"],
  [
    "encoded tags stay text",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<script>alert(1)</script>",
  ],
  ["< not starting a tag", "a < b and c > d", "a < b and c > d"],
  ["< before a digit", "I <3 this, 1<2", "I <3 this, 1<2"],
  ["tag left open to the end", "x <b y", "x <b y"],
  [
    "tag left open to the end, later markup kept as text",
    'x <a title="<b>" y &amp; z',
    'x <a title="<b>" y & z',
  ],
  [
    "attribute quote that never closes",
    "<a title='unclosed>text</a> rest",
    "text rest",
  ],
  ["comments", "x<!-- hidden <b>y</b> -->z", "xz"],
  ["empty comments", "a<!-->b<!--->c<!---->d", "abcd"],
  ["comment left open", "x <!-- never closed", "x <!-- never closed"],
  [
    "doctype, processing instruction, CDATA",
    '<!DOCTYPE html><?xml version="1.0"?>a<![CDATA[b]]>c',
    "ac",
  ],
  ["empty end tag and bogus end tag", "</>a</ b>", "a</ b>"],
  [
    "event handler attributes",
    '<img src=x onerror="alert(1)"><svg onload=alert(1)>text</svg>',
    "text",
  ],
  [
    "iframe, object and form elements lose only their tags",
    '<iframe src="https://evil.example"></iframe><form action=x><input value="v">f</form>',
    "f",
  ],
  [
    "link inside a link",
    '<a href="https://a.example">one <a href="https://b.example">two</a>',
    "one (https://a.example) two (https://b.example)",
  ],
  [
    "link left open to the end",
    '<a href="https://a.example">open',
    "open (https://a.example)",
  ],
  [
    "slashes, equals and odd characters in tags",
    '<a/href="https://x.example"/>x</a><b<i>y</b<i><p =x ==y>z',
    "x (https://x.example)yz",
  ],
  [
    "NUL and controls pass through as text",
    "a\u0000b\u0007c",
    "a\u0000b\u0007c",
  ],
];

for (const [name, input, expected] of corpus) {
  test(`toPlainText() handles hostile HTML: ${name}`, () => {
    assert.equal(html(input), expected);
  });
}

test("toPlainText() returns on 100k-character hostile inputs", () => {
  const size = 100_000;
  const fill = (unit: string) =>
    unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  const inputs = [
    fill("<a "),
    fill("<!--"),
    fill("<!"),
    fill("&#"),
    fill("&amp"),
    fill("<a x='"),
    fill('<a x="'),
    fill('<a title=">" '),
    fill("<a '>"),
    fill("</a"),
    fill('<a href="https://x">y</a>'),
    fill('<a href="h">t '),
    fill("<br>"),
    "<".repeat(size),
    "<script>" + fill("</scrip"),
    "<script>" + fill("</"),
    "&#" + "9".repeat(size),
    "&#x" + "f".repeat(size),
    "&" + "a".repeat(size),
    "<a " + fill("b=c "),
    "<a" + "/".repeat(size),
    "<a " + "=".repeat(size),
  ];
  for (const input of inputs) {
    const output = html(input);
    assert.equal(typeof output, "string");
    assert.ok(output.length <= input.length + 1);
  }
  assert.equal(html(fill("<a ")), fill("<a "));
  assert.equal(html(fill("<br>")), "\n".repeat(size / 4));
});
