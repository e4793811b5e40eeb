// The local web app's page: HTML, script and style, shipped as strings with
// the package (no CDN, no build at run time). The script never writes HTML:
// every text a sender chose goes in through textContent, and a link is a
// link only when it is http(s).

/** The page; its script and style come from this server (CSP: 'self'). */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Pushover inbox</title>
<link rel="stylesheet" href="/app.css">
<script type="module" src="/app.js"></script>
</head>
<body>
<header>
  <h1>Inbox <span id="unread" class="badge" aria-live="polite"></span></h1>
  <form id="filters" role="search" aria-label="Filter messages">
    <label>Search <input id="q" type="search" autocomplete="off"></label>
    <label>App <select id="app"><option value="">all</option></select></label>
    <label>Priority <select id="priority">
      <option value="">any</option>
      <option value="2">emergency</option>
      <option value="1">high and above</option>
      <option value="0">normal and above</option>
    </select></label>
    <label><input id="unread-only" type="checkbox"> unread</label>
    <label><input id="failed-only" type="checkbox"> failed</label>
    <button type="button" id="mark-all">Mark all read</button>
  </form>
  <p id="status" role="status"></p>
</header>
<main>
  <div class="column">
    <ul id="list" aria-label="Messages"></ul>
    <button type="button" id="older" hidden>Older messages</button>
  </div>
  <article id="detail" tabindex="0" aria-label="Message" hidden></article>
</main>
<footer><kbd>j</kbd>/<kbd>k</kbd> move · <kbd>Enter</kbd> open · <kbd>/</kbd> search · <kbd>a</kbd> acknowledge</footer>
</body>
</html>
`;

/** The page's script: fetch, EventSource and the DOM, nothing else. */
export const APP_JS = `
const $ = (id) => document.getElementById(id);
const PAGE = 100;
/** The list holds this many pages (the API gives at most 500 at once). */
const state = {
  csrf: "",
  messages: [],
  /** The filters the list on screen was loaded with. */
  shown: new URLSearchParams(),
  selected: -1,
  pages: 1,
  token: "",
};

/**
 * The access token: from the printed URL's "#token=" (no request carries
 * what follows "#"), kept in this origin's storage — this port's alone, as
 * a cookie would not be — and taken out of the address bar.
 */
function takeToken() {
  const KEY = "pushover-open-client token";
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (given) {
    localStorage.setItem(KEY, given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem(KEY) ?? "";
}

async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: {
      authorization: "Bearer " + state.token,
      "x-csrf-token": state.csrf,
      ...(init.headers ?? {}),
    },
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? response.statusText);
  return body;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== undefined));
  return node;
}

const PRIORITY = { "-2": "lowest", "-1": "low", "0": "normal", "1": "high", "2": "emergency" };

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString();
}

/** A link only for http(s): a javascript: or data: URL stays text. */
function safeLink(url, label) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "https:" || parsed.protocol === "http:") {
      return el("a", { href: parsed.href, rel: "noopener noreferrer", target: "_blank", text: label || parsed.href });
    }
  } catch {}
  return el("span", { class: "dead-link", text: label || String(url) });
}

function item(entry, index) {
  const m = entry.message;
  const li = el("li", {
    class: ["message", entry.readAt ? "" : "unread", m.priority === 2 ? "emergency" : ""].join(" ").trim(),
    "data-seq": String(entry.seq),
  });
  const button = el("button", { type: "button", class: "open" },
    el("span", { class: "meta", text: when(m.date) + " · " + m.app }),
    el("strong", { class: "title", text: m.title || m.app }),
    el("span", { class: "excerpt", text: entry.text.slice(0, 200) }),
  );
  button.addEventListener("click", () => select(index, true));
  li.append(button);
  return li;
}

function render() {
  $("list").replaceChildren(...state.messages.map(item));
  if (state.messages.length === 0) $("list").append(el("li", { class: "empty", text: "No messages." }));
}

/** The filters the page shows the list through, as query parameters. */
function filters() {
  const params = new URLSearchParams();
  if ($("q").value.trim()) params.set("q", $("q").value.trim());
  if ($("app").value) params.set("app", $("app").value);
  if ($("priority").value) params.set("min_priority", $("priority").value);
  if ($("unread-only").checked) params.set("unread", "1");
  if ($("failed-only").checked) params.set("failed", "1");
  return params;
}

async function load() {
  const shown = filters();
  const params = new URLSearchParams(shown);
  params.set("limit", String(PAGE * state.pages));
  try {
    const body = await api("/api/messages?" + params);
    state.messages = body.messages;
    // The filters of the list on screen, not of the inputs being typed in.
    state.shown = shown;
    // Older pages while the list is full; past five, search reaches them.
    $("older").hidden = body.messages.length < PAGE * state.pages || state.pages >= 5;
    $("unread").textContent = body.unread ? body.unread + " unread" : "";
    // A tab kept open all day shows the count in its title.
    document.title = (body.unread ? "(" + body.unread + ") " : "") + "Pushover inbox";
    const apps = new Set([...$("app").options].map((o) => o.value));
    for (const app of body.apps) if (!apps.has(app)) $("app").append(el("option", { value: app, text: app }));
    render();
    $("status").textContent = "";
  } catch (error) {
    $("status").textContent = "Could not load: " + error.message;
  }
}

async function select(index, focus) {
  if (index < 0 || index >= state.messages.length) return;
  state.selected = index;
  for (const [i, li] of [...$("list").children].entries()) li.classList.toggle("selected", i === index);
  const entry = state.messages[index];
  const m = entry.message;
  const detail = $("detail");
  detail.hidden = false;
  detail.replaceChildren(...[
    el("h2", { text: m.title || m.app }),
    el("p", { class: "meta" },
      m.icon ? el("img", { src: "/icons/" + encodeURIComponent(m.icon) + ".png", alt: "", width: "24", height: "24" }) : undefined,
      el("span", { text: m.app + " · " + (PRIORITY[m.priority] ?? m.priority) + " · " + when(m.date) +
        (m.e2ee ? " · end-to-end: " + m.e2ee : "") }),
    ),
    el("div", { class: "text", text: entry.text }),
    m.url ? el("p", {}, safeLink(m.url, m.url_title)) : undefined,
    entry.pending ? ackButton(entry) : undefined,
    entry.failed.length ? el("p", { class: "failed", text: "Set aside for: " + entry.failed.join(", ") }) : undefined,
  ].filter((child) => child !== undefined));
  if (focus) detail.focus();
  if (!entry.readAt) {
    await api("/api/messages/" + entry.seq + "/read", { method: "POST" }).catch(() => {});
    entry.readAt = Date.now();
    $("list").children[index]?.classList.remove("unread");
    load();
  }
}

function ackButton(entry) {
  const button = el("button", { type: "button", class: "ack", text: "Acknowledge" });
  button.addEventListener("click", () => acknowledge(entry, button));
  return button;
}

async function acknowledge(entry, button) {
  button.disabled = true;
  try {
    await api("/api/messages/" + entry.seq + "/ack", { method: "POST" });
    button.textContent = "Acknowledged";
    entry.pending = false;
  } catch (error) {
    button.disabled = false;
    $("status").textContent = "Could not acknowledge: " + error.message;
  }
}

async function start() {
  state.token = takeToken();
  try {
    state.csrf = (await api("/api/session")).csrf;
  } catch (error) {
    $("status").textContent = error.message;
    return;
  }
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  // Other filters start from the newest page again; "Older" adds one.
  const refilter = () => { state.pages = 1; load(); };
  let typing;
  $("q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(refilter, 200); });
  for (const id of ["app", "priority", "unread-only", "failed-only"]) $(id).addEventListener("change", refilter);
  $("older").addEventListener("click", () => {
    state.pages++;
    load();
  });
  // What is shown: with a filter on, a message filtered out stays unread.
  $("mark-all").addEventListener("click", async () => {
    const newest = state.messages[0]?.seq;
    if (newest !== undefined) {
      const params = new URLSearchParams(state.shown);
      params.set("through", String(newest));
      try {
        await api("/api/read?" + params, { method: "POST" });
      } catch (error) {
        $("status").textContent = "Could not mark read: " + error.message;
        return;
      }
    }
    load();
  });
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
    if (event.key === "j") select(Math.min(state.selected + 1, state.messages.length - 1), false);
    else if (event.key === "k") select(Math.max(state.selected - 1, 0), false);
    else if (event.key === "Enter" && state.selected >= 0) select(state.selected, true);
    else if (event.key === "/") { event.preventDefault(); $("q").focus(); }
    else if (event.key === "a") document.querySelector("#detail .ack")?.click();
  });
  // An EventSource sends no header of its own: the token goes in its query.
  const events = new EventSource("/api/events?token=" + encodeURIComponent(state.token));
  events.addEventListener("message", () => load());
  events.addEventListener("open", () => { $("status").textContent = ""; });
  events.addEventListener("error", () => { $("status").textContent = "Reconnecting to the listener …"; });
  await load();
}

start();
`;

/** The page's style: light and dark following the system, text that wraps. */
export const APP_CSS = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1a1a1a; --muted: #555; --line: #d8d8d8;
  --accent: #0b57d0; --unread: #eef3fd; --alert: #b3261e; --alert-bg: #fdecea; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #121212; --fg: #e8e8e8; --muted: #b0b0b0; --line: #333; --accent: #8ab4f8;
    --unread: #1d2738; --alert: #f2b8b5; --alert-bg: #3b1f1d; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header, footer { padding: 0.75rem 1rem; border-bottom: 1px solid var(--line); }
footer { border-top: 1px solid var(--line); border-bottom: 0; color: var(--muted); font-size: 0.85rem; }
h1 { margin: 0 0 0.5rem; font-size: 1.25rem; }
.badge { font-size: 0.85rem; color: var(--accent); }
form { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; }
input, select, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 0.2rem 0.4rem; }
button { cursor: pointer; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
main { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); min-height: 70vh; }
@media (max-width: 50rem) { main { grid-template-columns: minmax(0, 1fr); } }
.column { border-right: 1px solid var(--line); overflow-y: auto; max-height: 80vh; }
#list { list-style: none; margin: 0; padding: 0; }
#older { margin: 0.75rem 1rem; }
.message .open { display: grid; width: 100%; text-align: left; border: 0; border-bottom: 1px solid var(--line); border-radius: 0; padding: 0.5rem 1rem; background: transparent; }
.message.unread .open { background: var(--unread); }
.message.selected .open { outline: 2px solid var(--accent); outline-offset: -2px; }
.message.emergency .title { color: var(--alert); }
.meta { color: var(--muted); font-size: 0.85rem; display: flex; gap: 0.5rem; align-items: center; }
.title, .excerpt, .text, h2 { overflow-wrap: anywhere; word-break: break-word; }
.excerpt { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
#detail { padding: 1rem; overflow-y: auto; max-height: 80vh; }
.text { white-space: pre-wrap; }
.ack { background: var(--alert-bg); color: var(--alert); border-color: var(--alert); font-weight: 600; }
.failed { color: var(--alert); }
.empty { padding: 1rem; color: var(--muted); }
a { color: var(--accent); }
`;
