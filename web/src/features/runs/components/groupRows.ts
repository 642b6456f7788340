import type { Run, RunSort } from "../api/runs";

export type TableItem =
  | { kind: "run"; run: Run }
  | { kind: "group"; experimentId: string; name: string; count: number; best: unknown };

/** Rows under one header per experiment, the groups in the order of their first row (so the
 * server's sort orders the groups by their best run), the runs in the server's order. */
export function groupRows(rows: Run[], sort: RunSort | undefined): TableItem[] {
  const groups = new Map<string, Run[]>();
  for (const run of rows) {
    const list = groups.get(run.experiment_id);
    if (list) list.push(run);
    else groups.set(run.experiment_id, [run]);
  }
  const column = sort?.replace(/^-/, "") ?? "";
  const items: TableItem[] = [];
  for (const [experimentId, runs] of groups) {
    const first = runs[0].columns?.[column];
    items.push({
      kind: "group",
      experimentId,
      name: runs[0].experiment_name,
      count: runs.length,
      best: first === undefined ? null : first,
    });
    for (const run of runs) items.push({ kind: "run", run });
  }
  return items;
}
