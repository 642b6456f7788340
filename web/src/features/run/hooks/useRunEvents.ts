/** The run's live stream (SSE). Each kind of event bumps a counter; views refetch through
 * their REST cursors when theirs moves, so the stream is a doorbell and the cursors are the
 * truth: a dropped or resumed connection can neither lose nor repeat a log line or a point. */
import { useEffect, useState } from "react";
import { useApi } from "@/lib/api";
import { followEvents } from "@/lib/sse";
import { eventsUrl } from "../api/run";

export interface RunEvents {
  /** Counters per event kind ("log", "metrics", "state", "checkpoint"). */
  bumps: Record<string, number>;
  /** "open": live; "retrying": reconnecting; "closed": not available, views poll instead. */
  status: "connecting" | "open" | "retrying" | "closed";
}

export function useRunEvents(runId: string, enabled: boolean): RunEvents {
  const api = useApi();
  const [bumps, setBumps] = useState<Record<string, number>>({});
  const [status, setStatus] = useState<RunEvents["status"]>("connecting");

  useEffect(() => {
    if (!enabled) {
      setStatus("closed");
      return;
    }
    setStatus("connecting");
    const follower = followEvents({
      url: eventsUrl(runId),
      getToken: api.hooks.getToken,
      onStatus: (s) => setStatus(s),
      onMessage: (message) => {
        let kind = message.event;
        if (kind === "message") {
          try {
            kind = (JSON.parse(message.data) as { kind?: string }).kind ?? kind;
          } catch {
            // Not JSON: still a sign that something happened.
          }
        }
        // "end" (the run finished and everything was sent) is a last state change.
        const normalized = kind.startsWith("log") ? "log" : kind.startsWith("metric") ? "metrics" : kind === "end" ? "state" : kind;
        setBumps((old) => ({ ...old, [normalized]: (old[normalized] ?? 0) + 1 }));
      },
    });
    return () => follower.stop();
  }, [api, runId, enabled]);

  return { bumps, status };
}
