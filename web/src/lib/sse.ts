/** Server-Sent Events over fetch. EventSource cannot send a bearer header, so the stream is
 * read with fetch and parsed by eventsource-parser; reconnection resumes with `Last-Event-ID`,
 * and events at or before the last one seen are dropped, so a reconnect neither loses nor
 * repeats a payload. */
import { createParser } from "eventsource-parser";

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Event ids compare component-wise when both are integers joined by "." (Runyard's cursor,
 * `<log id>.<attempt>.<seq>.<transitions>`, where seq may be -1) or by "-" (a Redis stream
 * id); anything else compares as text. */
export function compareEventIds(a: string, b: string): number {
  const parse = (s: string): bigint[] | null => {
    const parts = /^-?\d+(\.-?\d+)*$/.test(s) ? s.split(".") : /^\d+(-\d+)*$/.test(s) ? s.split("-") : null;
    return parts ? parts.map((p) => BigInt(p)) : null;
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) {
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const x = pa[i] ?? -1n;
      const y = pb[i] ?? -1n;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface FollowOptions {
  url: string;
  getToken: () => string | null;
  onMessage: (message: SseMessage) => void;
  /** Connection status for the banner: "open" on (re)connect, "retrying" after a drop. */
  onStatus?: (status: "open" | "retrying" | "closed", detail?: string) => void;
  /** The server refused the resume point (422): what was streamed since can no longer be
   * resumed, so the caller reloads its snapshot; the stream restarts from the present. */
  onReset?: () => void;
  /** Resume point, e.g. after a page reload. */
  lastEventId?: string | null;
  retryMs?: number;
  fetchImpl?: typeof fetch;
}

/** Messages that repeat the current cursor on purpose: they bypass the repeat filter. */
const CURSOR_MESSAGES = new Set(["open", "end"]);

/** Follow a stream until `stop()`: reconnects after drops, resuming from the last id seen.
 * A 4xx answer (bad token, no such run) or an `end` event stops for good: retrying cannot
 * change those; a refused cursor (422) restarts once without one, after `onReset`. */
export function followEvents(options: FollowOptions): { stop: () => void; lastEventId: () => string | null } {
  const doFetch = options.fetchImpl ?? ((...args: Parameters<typeof fetch>) => globalThis.fetch(...args));
  const controller = new AbortController();
  let lastId = options.lastEventId ?? null;
  let retryMs = options.retryMs ?? 1000; // doubles while the server stays away
  let stopped = false;
  let ended = false;

  const deliver = (message: SseMessage) => {
    if (ended) return;
    if (CURSOR_MESSAGES.has(message.event)) {
      if (message.id) lastId = message.id;
      if (message.event === "end") ended = true;
      options.onMessage(message);
      return;
    }
    if (message.id !== null && message.id !== "") {
      if (lastId !== null && compareEventIds(message.id, lastId) <= 0) return; // a repeat
      lastId = message.id;
    }
    options.onMessage(message);
  };

  const connectOnce = async (): Promise<"retry" | "done"> => {
    const headers = new Headers({ Accept: "text/event-stream" });
    const token = options.getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (lastId !== null) headers.set("Last-Event-ID", lastId);
    const response = await doFetch(options.url, { headers, signal: controller.signal });
    if (response.status === 422 && lastId !== null) {
      lastId = null;
      options.onReset?.();
      return "retry";
    }
    if ([400, 401, 403, 404, 422].includes(response.status)) {
      options.onStatus?.("closed", `HTTP ${response.status}`);
      return "done";
    }
    if (!response.ok || !response.body) return "retry";
    options.onStatus?.("open");
    retryMs = options.retryMs ?? 1000;
    const parser = createParser({
      onEvent: (event) => deliver({ id: event.id ?? null, event: event.event ?? "message", data: event.data }),
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "retry"; // the server closed: reconnect and resume
      parser.feed(decoder.decode(value, { stream: true }));
      if (ended) {
        options.onStatus?.("closed", "the run has finished");
        await reader.cancel();
        return "done";
      }
    }
  };

  const loop = async () => {
    while (!stopped) {
      let outcome: "retry" | "done" = "retry";
      try {
        outcome = await connectOnce();
      } catch (error) {
        if (stopped || (error as Error).name === "AbortError") return;
      }
      if (outcome === "done" || stopped) return;
      options.onStatus?.("retrying");
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, 15_000);
    }
  };
  void loop();

  return {
    stop: () => {
      stopped = true;
      controller.abort();
      options.onStatus?.("closed");
    },
    lastEventId: () => lastId,
  };
}
