/** The run's live stream (SSE) written straight into the query cache: metric points into the
 * series and the summary, log lines into the tail, state changes into the run. Nothing the
 * stream carries is fetched again; only what it does not carry (the failure text, finish time,
 * checkpoints and exports) is reloaded when the run ends. Payloads arriving while a snapshot
 * loads wait in `pending` for its query function. */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useApi } from "@/lib/api";
import { TERMINAL_STATES } from "@/lib/format";
import { followEvents } from "@/lib/sse";
import { eventsUrl, type LogLine } from "../api/run";
import { runKeys } from "../api/queries";
import { applyTransitions, mergeLines, mergePoints, mergeSummary, type StreamPoint, type Transition } from "../live/merge";
import { clearPending, feedQuery, type Pending } from "../live/pending";

export type LiveStatus = "connecting" | "open" | "retrying" | "closed";

export interface RunLive {
  /** "open": live; "retrying": reconnecting (it resumes where it was); "closed": no stream. */
  status: LiveStatus;
  /** The stream has said where it starts (or is not coming): snapshots may load now, and
   * whatever is stored after them arrives through the stream. */
  ready: boolean;
}

export function useRunLive(runId: string, enabled: boolean, pending: Pending): RunLive {
  const api = useApi();
  const client = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const [ready, setReady] = useState(false);

  useEffect(() => {
    if (!enabled) {
      setStatus("closed");
      return;
    }
    setStatus("connecting");
    let reloadOnOpen = false;
    const reloadSnapshots = () => {
      void client.invalidateQueries({ queryKey: runKeys.all(runId) });
    };
    const onMessage = (event: string, data: string) => {
      const body = data ? (JSON.parse(data) as Record<string, unknown>) : {};
      if (event === "open") {
        setReady(true);
        if (reloadOnOpen) {
          reloadOnOpen = false;
          reloadSnapshots();
        }
      } else if (event === "metrics") {
        const points = body.points as StreamPoint[];
        feedQuery(client, runKeys.series(runId), pending.series, points, mergePoints);
        feedQuery(client, runKeys.summary(runId), pending.summary, points, mergeSummary);
      } else if (event === "log") {
        feedQuery(client, runKeys.logs(runId), pending.logs, body.lines as LogLine[], mergeLines);
      } else if (event === "state") {
        const transition = body as unknown as Transition;
        feedQuery(client, runKeys.detail(runId), pending.detail, [transition], applyTransitions);
        if (TERMINAL_STATES.includes(transition.to_state)) finished();
      } else if (event === "end") {
        finished();
      }
    };
    // What the stream does not carry changes when the run ends.
    const finished = () => {
      for (const key of [runKeys.detail(runId), runKeys.checkpoints(runId), runKeys.exports(runId)]) {
        void client.invalidateQueries({ queryKey: key, exact: true });
      }
    };
    const follower = followEvents({
      url: `${eventsUrl(runId)}?start=now`,
      getToken: api.hooks.getToken,
      onStatus: (s) => {
        setStatus(s);
        if (s === "closed") setReady(true); // no stream: the views poll instead
      },
      onReset: () => {
        // The server no longer knows our cursor: what streamed since cannot be resumed, so
        // the snapshots reload once the stream has reopened from the present.
        clearPending(pending);
        reloadOnOpen = true;
      },
      onMessage: (message) => onMessage(message.event, message.data),
    });
    return () => follower.stop();
  }, [api, client, runId, enabled, pending]);

  return { status, ready: ready || !enabled };
}
