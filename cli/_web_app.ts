// `listen --http ADDR`: the local web app beside the listener, over its
// inbox and its state. Starts the server and prints the URL with the
// access token once on a terminal (as Jupyter does); when stderr is a log
// (a service) the token goes to a 0600 file instead. Stops with the listener.

import { acknowledge, type Device, type MessageStream } from "../mod.ts";
import type { Inbox, StoredMessage } from "../inbox/mod.ts";
import type { Net } from "./_command.ts";
import type { ListenerState } from "./_listener_state.ts";
import { writePrivate } from "./_files.ts";
import { makeGuard } from "./_web_guard.ts";
import { webRoutes } from "./_web_routes.ts";
import { type Address, serveWeb } from "./_web_server.ts";

/** What the web app needs of the listener. */
export interface WebAppSettings {
  address: Address;
  isPublic: boolean;
  inbox: Inbox;
  state: ListenerState;
  stream: MessageStream;
  device: Device;
  api: { apiUrl?: string } & Net;
  /** Where icons come from (Pushover's site, or the fake's). */
  assetUrl: string;
  /**
   * Where the token is written (0600) when stderr is not a terminal: a
   * service's stderr is its log, and the token is never logged.
   */
  tokenFile: string;
  /** Whether stderr is a terminal (a person reads it, not a log). */
  terminal: boolean;
  tell(line: string): void;
}

/** Icons kept in memory: a page shows the same few again and again. */
const ICONS_KEPT = 200;

/** Starts the web app; resolves to what stops it. */
export async function startWebApp(
  settings: WebAppSettings,
): Promise<() => Promise<void>> {
  const stop = new AbortController();
  const icons = new Map<string, { type: string; body: ArrayBuffer }>();
  const fetchIcon = settings.api.fetch ?? fetch;
  let guard = makeGuard(0, settings.isPublic);
  const handler = webRoutes({
    get guard() {
      return guard;
    },
    inbox: settings.inbox,
    state: settings.state,
    lastFrameAt: () => settings.stream.lastFrameAt,
    acknowledge: async (stored: StoredMessage) => {
      const receipt = stored.message.receipt!;
      await acknowledge(settings.device, receipt, settings.api);
      settings.inbox.acknowledged(receipt);
    },
    icon: async (name) => {
      let icon = icons.get(name);
      if (!icon) {
        const response = await fetchIcon(
          `${settings.assetUrl}/icons/${name}.png`,
        );
        if (!response.ok) {
          await response.body?.cancel();
          return new Response(null, { status: 404 });
        }
        icon = {
          type: response.headers.get("content-type") ?? "image/png",
          body: await response.arrayBuffer(),
        };
        if (icons.size >= ICONS_KEPT) icons.clear();
        icons.set(name, icon);
      }
      return new Response(icon.body, {
        headers: {
          "content-type": icon.type,
          "cache-control": "max-age=86400",
          "x-content-type-options": "nosniff",
        },
      });
    },
    // Two of Pushover's keep-alive intervals (about 30 s each).
    healthWindow: 2 * 30_000 + 5_000,
    signal: stop.signal,
  });
  const server = await serveWeb(settings.address, handler);
  // The guard names the port the server got (port 0: any free one).
  guard = makeGuard(server.port, settings.isPublic);
  const { host } = settings.address;
  const shown = host.includes(":") ? `[${host}]` : host;
  if (settings.isPublic) {
    settings.tell(
      `--public: anyone who can reach ${shown}:${server.port} and has the token can read every message and acknowledge emergencies; plain http, so the token crosses the network in clear text`,
    );
  }
  const page = `http://${shown}:${server.port}/`;
  if (settings.terminal) {
    settings.tell(`the web page: ${page}#token=${guard.token}`);
  } else {
    await writePrivate(settings.tokenFile, `${guard.token}\n`);
    settings.tell(
      `the web page: ${page} — its access token is in ${settings.tokenFile} (open ${page}#token=TOKEN)`,
    );
  }
  return async () => {
    stop.abort();
    await server.close();
  };
}
