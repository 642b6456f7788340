import { queryOptions, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { StateBadge } from "@/components/StateBadge";
import { ErrorBox, Loading } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { useCurrentUser } from "@/lib/currentUser";
import { formatDuration, shortId, TERMINAL_STATES } from "@/lib/format";
import { unwrap } from "@/lib/api";
import { cancelRun, fetchCheckpoints, fetchExports, fetchRunDetail, fetchSummary } from "../api/run";
import { projectsKey, runKeys } from "../api/queries";
import { useLogTail } from "../hooks/useLogTail";
import { useMetricSeries } from "../hooks/useMetricSeries";
import { useRunLive } from "../hooks/useRunLive";
import { applyTransitions, mergeSummary } from "../live/merge";
import { newPending, withPending } from "../live/pending";
import { ArtifactBrowser } from "./ArtifactBrowser";
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
  // Keyed by run: another run's page starts with fresh state, stream and pending payloads.
  return <RunView key={runId} runId={runId} pollMs={pollMs} />;
}

function RunView({ runId, pollMs }: { runId: string; pollMs: number }) {
  const api = useApi();
  const client = useQueryClient();
  const me = useCurrentUser();
  const pending = useMemo(newPending, []);
  const detailQuery = queryOptions({
    queryKey: runKeys.detail(runId),
    queryFn: async ({ signal }) =>
      withPending(await fetchRunDetail(api, runId, signal), pending.detail, applyTransitions),
    staleTime: Infinity,
  });
  const run = useQuery(detailQuery);
  const detail = run.data;
  // Follow the stream while the run was live when the page opened, until the stream ends
  // (it sends what was stored before the run finished, then `end`).
  const [follow, setFollow] = useState<boolean | null>(null);
  if (detail && follow === null) setFollow(!TERMINAL_STATES.includes(detail.state));
  const live = useRunLive(runId, follow === true, pending);
  const isLive = !!detail && !TERMINAL_STATES.includes(detail.state);
  // Without a stream (none, or it was refused) a live run's views poll instead.
  const pollLive = isLive && live.status === "closed" ? pollMs : false;
  const snapshots = follow !== null && live.ready;
  const metrics = useMetricSeries(runId, { enabled: snapshots, pending, pollMs: pollLive });
  // Charts first: the log tail and the artifact lists wait until the charts' data is in, so
  // the browser's few connections per host serve the series requests before anything else.
  const chartsSettled = snapshots && !metrics.loading;
  const logs = useLogTail(runId, { enabled: chartsSettled, pending, pollMs: pollLive });
  const checkpoints = useQuery({
    queryKey: runKeys.checkpoints(runId),
    queryFn: ({ signal }) => fetchCheckpoints(api, runId, signal),
    enabled: chartsSettled,
    // The stream does not carry checkpoints; a live run's list is polled.
    refetchInterval: isLive ? pollMs * 2 : false,
  });
  const exports = useQuery({
    queryKey: runKeys.exports(runId),
    queryFn: ({ signal }) => fetchExports(api, runId, signal),
    enabled: chartsSettled,
    staleTime: Infinity,
  });
  const summary = useQuery({
    queryKey: runKeys.summary(runId),
    queryFn: async ({ signal }) => withPending(await fetchSummary(api, runId, signal), pending.summary, mergeSummary),
    enabled: snapshots,
    staleTime: Infinity,
    refetchInterval: pollLive,
  });
  const projects = useQuery({
    queryKey: projectsKey,
    queryFn: async ({ signal }) => unwrap(await api.client.GET("/api/v1/projects", { signal })),
    staleTime: 60_000,
  });
  // A second observer of the run polls it only while there is no stream.
  useQuery({ ...detailQuery, enabled: pollLive !== false, refetchInterval: pollLive });
  const [cancelError, setCancelError] = useState<Error | null>(null);
  const [canceling, setCanceling] = useState(false);

  if (!detail) return run.error ? <ErrorBox error={run.error} retry={() => void run.refetch()} /> : <Loading what="run" />;
  const role = projects.data?.find((p) => p.id === detail.project_id)?.role;
  const mayEdit = !!me && (me.is_admin || (role !== undefined && role !== "viewer"));
  const checkpoint = (detail.spec as { checkpoint?: { monitor?: string | null; mode?: string } }).checkpoint;
  const mayCancel = !!me && (me.is_admin || me.id === detail.owner_id) && !TERMINAL_STATES.includes(detail.state);
  const cancel = async () => {
    setCanceling(true);
    try {
      await cancelRun(api, runId);
      setCancelError(null);
      await client.invalidateQueries({ queryKey: runKeys.detail(runId), exact: true });
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
          <span className={`live live-${live.status}`} title="live updates" data-testid="live-status">
            {live.status === "open" ? "live" : live.status === "retrying" ? "reconnecting…" : live.status === "connecting" ? "connecting…" : "polling"}
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
        <RunNotes run={detail} mayEdit={mayEdit} onSaved={(saved) => client.setQueryData(runKeys.detail(runId), saved)} />
      </div>
      <LogTail lines={logs.lines} loading={logs.loading} error={logs.error} />
      <RungResults run={detail} />
      <div className="two-columns">
        <ParamsAndSpec run={detail} />
        <StateHistory run={detail} />
      </div>
      <Artifacts checkpoints={checkpoints.data ?? []} exports={exports.data ?? []} />
      <ArtifactBrowser runId={runId} enabled={chartsSettled} live={isLive} />
    </section>
  );
}
