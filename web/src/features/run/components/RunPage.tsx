import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { StateBadge } from "@/components/StateBadge";
import { ErrorBox, Loading } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { useCurrentUser } from "@/lib/currentUser";
import { formatDuration, shortId, TERMINAL_STATES } from "@/lib/format";
import { usePolled } from "@/lib/usePolled";
import { unwrap } from "@/lib/api";
import { cancelRun, fetchCheckpoints, fetchExports, fetchRunDetail, fetchSummary } from "../api/run";
import { useLogTail } from "../hooks/useLogTail";
import { useMetricSeries } from "../hooks/useMetricSeries";
import { useRunEvents } from "../hooks/useRunEvents";
import { Artifacts } from "./Artifacts";
import { IsolationWarning } from "./IsolationWarning";
import { LogTail } from "./LogTail";
import { MetricCharts } from "./MetricCharts";
import { FailurePanel, ParamsAndSpec, StateHistory } from "./RunDetails";
import { RunNotes } from "./RunNotes";
import { RunSummary } from "./RunSummary";
import { RungResults } from "./RungResults";

export function RunPage({ pollMs = 2000 }: { pollMs?: number }) {
  const { runId = "" } = useParams();
  const api = useApi();
  const me = useCurrentUser();
  const [live, setLive] = useState<boolean | null>(null); // null until the run is known
  const [stateBump, setStateBump] = useState(0);
  const events = useRunEvents(runId, live === true);
  // With the stream open, views refetch on its events; polling is the slower safety net.
  const fallbackMs = events.status === "open" ? pollMs * 5 : pollMs;
  const run = usePolled(
    (signal) => fetchRunDetail(api, runId, signal),
    [api, runId, events.bumps.state, stateBump],
    live === false ? null : fallbackMs,
    runId,
  );
  const detail = run.data;
  useEffect(() => {
    if (detail) setLive(!TERMINAL_STATES.includes(detail.state));
  }, [detail]);
  const metrics = useMetricSeries(runId, events.bumps.metrics ?? 0, live === true, fallbackMs);
  // Charts first: the log tail and the artifact lists wait until the charts' data is in, so
  // the browser's few connections per host serve the series requests before anything else.
  const chartsSettled = !metrics.loading;
  const logs = useLogTail(runId, events.bumps.log ?? 0, live === true, fallbackMs, chartsSettled);
  const checkpoints = usePolled(
    (signal) => (chartsSettled ? fetchCheckpoints(api, runId, signal) : Promise.resolve(undefined)),
    // The state joins the deps: the retention pass of the last upload can drop a row after
    // the final checkpoint event, and a finished run is no longer polled.
    [api, runId, events.bumps.checkpoint, detail?.state, chartsSettled],
    live ? pollMs * 2 : null,
    runId,
  );
  const exports = usePolled(
    (signal) => (chartsSettled ? fetchExports(api, runId, signal) : Promise.resolve(undefined)),
    [api, runId, detail?.state, chartsSettled],
    null,
    runId,
  );
  const summary = usePolled(
    (signal) => fetchSummary(api, runId, signal),
    [api, runId, events.bumps.metrics, detail?.state],
    live ? fallbackMs : null,
    runId,
  );
  const projects = usePolled(
    async (signal) => unwrap(await api.client.GET("/api/v1/projects", { signal })),
    [api],
    null,
  );
  const [cancelError, setCancelError] = useState<Error | null>(null);
  const [canceling, setCanceling] = useState(false);

  if (!detail) return run.error ? <ErrorBox error={run.error} retry={run.reload} /> : <Loading what="run" />;
  const isLive = live === true;
  const role = projects.data?.find((p) => p.id === detail.project_id)?.role;
  const mayEdit = !!me && (me.is_admin || (role !== undefined && role !== "viewer"));
  const checkpoint = (detail.spec as { checkpoint?: { monitor?: string | null; mode?: string } }).checkpoint;
  const mayCancel = !!me && (me.is_admin || me.id === detail.owner_id) && !TERMINAL_STATES.includes(detail.state);
  const cancel = async () => {
    setCanceling(true);
    try {
      await cancelRun(api, runId);
      setCancelError(null);
      setStateBump((n) => n + 1);
    } catch (err) {
      setCancelError(err as Error);
    } finally {
      setCanceling(false);
    }
  };

  return (
    <section>
      <header className="page-head">
        <h1>
          {detail.experiment_name} <small>{shortId(detail.id)}</small>
        </h1>
        <span data-testid="run-state">
          <StateBadge state={detail.state} />
        </span>
        <span className="hint">
          attempt {detail.attempt} · {formatDuration(detail.started_at, detail.finished_at)}
          {detail.exit_reason ? ` · ${detail.exit_reason}` : ""}
        </span>
        {isLive && (
          <span className={`live live-${events.status}`} title="live updates">
            {events.status === "open" ? "live" : events.status === "retrying" ? "reconnecting…" : "polling"}
          </span>
        )}
        {mayCancel && (
          <button type="button" className="danger" onClick={cancel} disabled={canceling || !!detail.cancel_requested_at}>
            {detail.cancel_requested_at ? "Canceling…" : "Cancel run"}
          </button>
        )}
        <Link to={`/compare?runs=${detail.id}`}>compare…</Link>
      </header>
      <IsolationWarning isolation={detail.isolation} />
      {cancelError && <ErrorBox error={cancelError} />}
      <FailurePanel run={detail} />
      <MetricCharts
        keys={metrics.keys}
        points={metrics.points}
        zoomed={metrics.zoom}
        loading={metrics.loading}
        error={metrics.error}
        onZoom={metrics.zoomTo}
      />
      <div className="two-columns">
        <RunSummary summary={summary.data} monitor={checkpoint?.monitor} mode={checkpoint?.mode} />
        <RunNotes run={detail} mayEdit={mayEdit} onSaved={() => setStateBump((n) => n + 1)} />
      </div>
      <LogTail lines={logs.lines} loading={logs.loading} error={logs.error} />
      <RungResults run={detail} />
      <div className="two-columns">
        <ParamsAndSpec run={detail} />
        <StateHistory run={detail} />
      </div>
      <Artifacts checkpoints={checkpoints.data ?? []} exports={exports.data ?? []} />
    </section>
  );
}
