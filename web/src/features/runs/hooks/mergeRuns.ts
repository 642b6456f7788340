import type { Run } from "../api/runs";

/** Fold fresher copies of runs into the loaded list, in place of the stale ones. New runs (not
 * loaded yet) go on top when the list is newest first: they are what the user just submitted. */
export function mergeRuns(rows: Run[], fresh: Run[], newestFirst: boolean): Run[] {
  const byId = new Map(fresh.map((r) => [r.id, r]));
  const known = new Set(rows.map((r) => r.id));
  // A run read on its own (GET /runs/{id}) has no list columns: keep the ones shown.
  const updated = rows.map((r) => {
    const next = byId.get(r.id);
    if (!next) return r;
    return Object.keys(next.columns ?? {}).length || !r.columns ? next : { ...next, columns: r.columns };
  });
  if (!newestFirst) return updated;
  const added = fresh
    .filter((r) => !known.has(r.id))
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  return added.length ? [...added, ...updated] : updated;
}
