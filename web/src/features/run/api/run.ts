import { unwrap, type Api, type Schemas } from "@/lib/api";
import type { Point } from "@/lib/charts/shape";

export type RunDetail = Schemas["RunDetail"];
export type LogLine = Schemas["LogLinePublic"];

export type Checkpoint = Schemas["CheckpointPublic"];
export type ExportedModel = Schemas["ExportPublic"];

export async function fetchRunDetail(api: Api, runId: string, signal?: AbortSignal): Promise<RunDetail> {
  return unwrap(await api.client.GET("/api/v1/runs/{run_id}", { params: { path: { run_id: runId } }, signal }));
}

export async function cancelRun(api: Api, runId: string): Promise<void> {
  unwrap(await api.client.POST("/api/v1/runs/{run_id}/cancel", { params: { path: { run_id: runId } } }));
}

export async function fetchSeries(
  api: Api,
  runId: string,
  key: string,
  options: { maxPoints: number; start?: number; end?: number; signal?: AbortSignal },
): Promise<Point[]> {
  const result = unwrap(
    await api.client.GET("/api/v1/runs/{run_id}/metrics/{key}", {
      params: {
        path: { run_id: runId, key },
        query: { max_points: options.maxPoints, start: options.start, end: options.end },
      },
      signal: options.signal,
    }),
  );
  // The route also streams full CSV exports (resolution=full); this call asks for JSON.
  if (typeof result === "string") throw new Error("expected a JSON metric series");
  return result.points;
}

/** Every series of a run (keys sorted) in one request: what the run page opens with. */
export async function fetchAllSeries(
  api: Api,
  runId: string,
  options: { maxPoints: number; signal?: AbortSignal },
): Promise<{ keys: string[]; points: Record<string, Point[]> }> {
  const result = unwrap(
    await api.client.GET("/api/v1/runs/{run_id}/metric-series", {
      params: { path: { run_id: runId }, query: { max_points: options.maxPoints } },
      signal: options.signal,
    }),
  );
  return {
    keys: result.series.map((s) => s.key),
    points: Object.fromEntries(result.series.map((s) => [s.key, s.points])),
  };
}

export async function fetchLogs(
  api: Api,
  runId: string,
  after: number | null,
  signal?: AbortSignal,
): Promise<Schemas["LogPage"]> {
  return unwrap(
    await api.client.GET("/api/v1/runs/{run_id}/logs", {
      params: { path: { run_id: runId }, query: { after: after ?? undefined, limit: 1000 } },
      signal,
    }),
  );
}

export async function fetchCheckpoints(api: Api, runId: string, signal?: AbortSignal): Promise<Checkpoint[]> {
  return unwrap(
    await api.client.GET("/api/v1/runs/{run_id}/checkpoints", { params: { path: { run_id: runId } }, signal }),
  );
}

export async function fetchExports(api: Api, runId: string, signal?: AbortSignal): Promise<ExportedModel[]> {
  return unwrap(
    await api.client.GET("/api/v1/runs/{run_id}/exports", { params: { path: { run_id: runId } }, signal }),
  );
}

export function eventsUrl(runId: string): string {
  return `/api/v1/runs/${runId}/events`;
}

export type RunSummary = Schemas["RunSummaryPublic"];
export type RunPatch = Schemas["RunPatch"];

export async function fetchSummary(api: Api, runId: string, signal?: AbortSignal): Promise<RunSummary> {
  return unwrap(await api.client.GET("/api/v1/runs/{run_id}/summary", { params: { path: { run_id: runId } }, signal }));
}

export async function updateRun(api: Api, runId: string, patch: RunPatch): Promise<RunDetail> {
  return unwrap(await api.client.PATCH("/api/v1/runs/{run_id}", { params: { path: { run_id: runId } }, body: patch }));
}

export type ArtifactTree = Schemas["ArtifactTree"];
export type ArtifactEntry = Schemas["ArtifactEntry"];

export async function fetchArtifacts(api: Api, runId: string, signal?: AbortSignal): Promise<ArtifactTree> {
  return unwrap(await api.client.GET("/api/v1/runs/{run_id}/artifacts", { params: { path: { run_id: runId } }, signal }));
}

/** Where one file of the run's folder is served (each segment escaped, the slashes kept). */
export function artifactFileUrl(runId: string, path: string, preview = false): string {
  const escaped = path.split("/").map(encodeURIComponent).join("/");
  return `/api/v1/runs/${runId}/artifacts/files/${escaped}${preview ? "?preview=true" : ""}`;
}
