// The Worker that runs the library, unchanged, inside workerd: run.ts bundles
// it with mod.ts (esbuild) and loads it into Miniflare. One request runs the
// whole flow and answers with a report; a Worker's timers and sockets live
// only as long as the request that made them, so everything is awaited here.
//
// It uses workerd's own global fetch and WebSocket: no adapter, no polyfill,
// no nodejs_compat.

import {
  deleteThrough,
  downloadMessages,
  login,
  registerDevice,
  streamMessages,
} from "../../mod.ts";
import type { Message, StreamStatus } from "../../mod.ts";

/** What run.ts posts to the Worker. */
export interface FlowRequest {
  apiUrl: string;
  websocketUrl: string;
  email: string;
  password: string;
  deviceName: string;
  /** How many messages to take from the stream before `break`. */
  take: number;
  /** Milliseconds the stream may take before it is aborted. */
  streamTimeout: number;
}

/** The parts of a message the test checks. */
export interface MessageSummary {
  id_str: string;
  title: string | undefined;
  message: string;
}

/** What the Worker answers: what each step returned. */
export interface FlowReport {
  /** Proof of where this ran. */
  runtime: {
    userAgent: string | undefined;
    hasWebSocketPair: boolean;
    hasProcess: boolean;
  };
  deviceId: string;
  downloaded: MessageSummary[];
  streamed: MessageSummary[];
  statuses: string[];
  /** downloadMessages() after deleteThrough(). */
  afterDelete: MessageSummary[];
}

/** What the Worker answers when a step threw. */
export interface FlowFailure {
  error: string;
  /** The steps taken, and the stream's statuses, up to the failure. */
  steps: string[];
}

async function runFlow(
  flow: FlowRequest,
  steps: string[],
): Promise<FlowReport> {
  const api = { apiUrl: flow.apiUrl };
  steps.push("login");
  const session = await login(
    { email: flow.email, password: flow.password },
    api,
  );
  steps.push("registerDevice");
  const device = await registerDevice(session, flow.deviceName, api);
  steps.push("downloadMessages");
  const { messages } = await downloadMessages(device, api);

  steps.push("streamMessages");
  const statuses: string[] = [];
  const stream = streamMessages(device, {
    ...api,
    websocketUrl: flow.websocketUrl,
    // deleteThrough() below does the deleting, so the test can see it did.
    autoDelete: false,
    signal: AbortSignal.timeout(flow.streamTimeout),
    onStatus: (status: StreamStatus) => {
      const state = status.state === "stopped"
        ? `stopped:${status.reason}`
        : status.state;
      statuses.push(state);
      steps.push(`stream ${state}`);
    },
  });
  const streamed: Message[] = [];
  for await (const message of stream) {
    streamed.push(message);
    steps.push(`message ${message.id_str}`);
    if (streamed.length === flow.take) break;
  }

  const last = streamed.at(-1);
  steps.push("deleteThrough");
  if (last) await deleteThrough(device, last, api);
  steps.push("downloadMessages");
  const after = await downloadMessages(device, api);

  return {
    runtime: {
      // No navigator before compatibility date 2022-03-21 (global_navigator).
      userAgent: (globalThis as { navigator?: Navigator }).navigator
        ?.userAgent,
      hasWebSocketPair: "WebSocketPair" in globalThis,
      hasProcess: "process" in globalThis,
    },
    deviceId: device.deviceId,
    downloaded: messages.map(summary),
    streamed: streamed.map(summary),
    statuses,
    afterDelete: after.messages.map(summary),
  };
}

function summary(message: Message): MessageSummary {
  return {
    id_str: message.id_str,
    title: message.title,
    message: message.message,
  };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const steps: string[] = [];
    try {
      const flow = await request.json() as FlowRequest;
      return Response.json(await runFlow(flow, steps));
    } catch (error) {
      const failure: FlowFailure = {
        error: error instanceof Error
          ? error.stack ?? `${error.name}: ${error.message}`
          : String(error),
        steps,
      };
      return Response.json(failure, { status: 500 });
    }
  },
};
