/** Server-Sent Events over fetch. EventSource cannot send a bearer header, so the stream is
 * read with fetch and parsed here; reconnection resumes with `Last-Event-ID`, and events at or
 * before the last one seen are dropped, so a reconnect neither loses nor repeats lines. */

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Incremental parser for the text/event-stream format: feed chunks, get whole messages. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | null = null;

  feed(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === "") {
      if (!this.data.length) {
        this.event = "";
        return null;
      }
      const message = { id: this.id, event: this.event || "message", data: this.data.join("\n") };
      this.data = [];
      this.event = "";
      return message;
    }
    if (line.startsWith(":")) return null; // a comment: keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    return null;
  }
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
  /** Resume point, e.g. after a page reload. */
  lastEventId?: string | null;
  retryMs?: number;
  fetchImpl?: typeof fetch;
}

/** Follow a stream until `stop()`: reconnects after drops, resuming from the last id seen.
 * A 4xx answer (bad token, no such run, bad cursor) or an `end` event stops for good: retrying
 * cannot change those. */
export function followEvents(options: FollowOptions): { stop: () => void; lastEventId: () => string | null } {
  const doFetch = options.fetchImpl ?? ((...args: Parameters<typeof fetch>) => globalThis.fetch(...args));
  const controller = new AbortController();
  let lastId = options.lastEventId ?? null;
  let retryMs = options.retryMs ?? 1000; // doubles while the server stays away
  let stopped = false;

  const deliver = (message: SseMessage) => {
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
    if ([400, 401, 403, 404, 422].includes(response.status)) {
      options.onStatus?.("closed", `HTTP ${response.status}`);
      return "done";
    }
    if (!response.ok || !response.body) return "retry";
    options.onStatus?.("open");
    retryMs = options.retryMs ?? 1000;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "retry"; // the server closed: reconnect and resume
      for (const message of parser.feed(decoder.decode(value, { stream: true }))) {
        if (message.event === "end") {
          // `end` repeats the last cursor, so it must bypass the repeat filter.
          options.onMessage(message);
          options.onStatus?.("closed", "the run has finished");
          await reader.cancel();
          return "done";
        }
        deliver(message);
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
