import { unwrap, type Api, type Schemas } from "@/lib/api";

export type Run = Schemas["RunPublic"];
export type RunState = Schemas["RunState"];
/** created_at, priority, metrics.<key>[.min|.max] or params.<key>; "-" in front: descending. */
export type RunSort = string;
export const RUN_STATES: RunState[] = ["queued", "scheduled", "running", "paused", "completed", "failed", "canceled"];
/** Not finished: what can still change state while we watch (paused: an ASHA trial waiting). */
export const ACTIVE_STATES: RunState[] = ["queued", "scheduled", "running", "paused"];

export interface RunFilters {
  state: RunState | "";
  owner_id: string;
  project_id: string;
  tag: string;
  q: string;
  sort: RunSort;
  /** The server's filter language, e.g. `metrics.val_acc > 0.9 and params.model.lr < 0.01`. */
  filter: string;
  /** Extra columns, comma-separated: metrics.val_acc, metrics.loss.min, params.model.lr. */
  columns: string;
  /** "experiment": rows grouped under their experiment (a search's trials together). */
  group: "" | "experiment";
}

export const DEFAULT_FILTERS: RunFilters = {
  state: "",
  owner_id: "",
  project_id: "",
  tag: "",
  q: "",
  sort: "-created_at",
  filter: "",
  columns: "",
  group: "",
};

export function columnList(filters: RunFilters): string[] {
  return filters.columns
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
}

function query(filters: RunFilters, states?: RunState[]) {
  return {
    state: states ?? (filters.state ? [filters.state] : undefined),
    owner_id: filters.owner_id || undefined,
    project_id: filters.project_id || undefined,
    tag: filters.tag || undefined,
    q: filters.q || undefined,
    sort: filters.sort,
    filter: filters.filter.trim() || undefined,
    columns: columnList(filters).length ? [columnList(filters).join(",")] : undefined,
  };
}

export async function fetchRunPage(
  api: Api,
  filters: RunFilters,
  cursor: string | null,
  signal?: AbortSignal,
  limit = 200,
): Promise<Schemas["RunPage"]> {
  return unwrap(
    await api.client.GET("/api/v1/runs", {
      params: { query: { ...query(filters), cursor: cursor ?? undefined, limit } },
      signal,
    }),
  );
}

/** The not-yet-finished runs that match the filters: what can change state while we watch. */
export async function fetchActiveRuns(api: Api, filters: RunFilters, signal?: AbortSignal): Promise<Run[]> {
  const states = filters.state ? ACTIVE_STATES.filter((s) => s === filters.state) : ACTIVE_STATES;
  if (!states.length) return [];
  const page = unwrap(
    await api.client.GET("/api/v1/runs", {
      params: { query: { ...query(filters, states), limit: 200 } },
      signal,
    }),
  );
  return page.items;
}

export async function fetchRun(api: Api, id: string, signal?: AbortSignal): Promise<Run> {
  return unwrap(await api.client.GET("/api/v1/runs/{run_id}", { params: { path: { run_id: id } }, signal }));
}

export interface Directory {
  projects: Schemas["ProjectPublic"][];
  /** user id -> email, from the members of the user's projects */
  people: Record<string, string>;
}

export async function fetchDirectory(api: Api, signal?: AbortSignal): Promise<Directory> {
  const projects = unwrap(await api.client.GET("/api/v1/projects", { signal }));
  const people: Record<string, string> = {};
  const memberLists = await Promise.all(
    projects.map((p) =>
      api.client
        .GET("/api/v1/projects/{project_id}/members", { params: { path: { project_id: p.id } }, signal })
        .then((r) => r.data ?? []),
    ),
  );
  for (const members of memberLists) for (const m of members) people[m.user_id] = m.email;
  return { projects, people };
}
