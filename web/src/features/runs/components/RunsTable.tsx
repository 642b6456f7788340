/** A virtual list: only the rows on screen are in the DOM, so 10,000 runs scroll smoothly.
 * Extra metric/param columns follow the fixed ones; sortable headers are buttons; with
 * grouping on, each experiment's runs come under one header row. */
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef } from "react";
import { Link } from "react-router-dom";
import { RungBadge } from "@/components/RungBadge";
import { StateBadge } from "@/components/StateBadge";
import { formatCell, formatDuration, formatTime, shortId } from "@/lib/format";
import type { Directory, Run, RunSort } from "../api/runs";
import { groupRows, type TableItem } from "./groupRows";

const ROW_HEIGHT = 34;
const FIXED_COLUMNS = "32px minmax(140px, 2.2fr) 100px minmax(90px, 130px) minmax(70px, 1fr) minmax(90px, 1.4fr) 70px minmax(110px, 1.3fr) 90px";

export interface RunsTableProps {
  rows: Run[];
  directory: Directory | undefined;
  selected: Set<string>;
  onToggle: (id: string) => void;
  hasMore: boolean;
  onNeedMore: () => void;
  columns?: string[];
  sort?: RunSort;
  onSort?: (sort: RunSort) => void;
  groupByExperiment?: boolean;
}

/** Descending first for a new column (the best metric on top), then toggles. */
export function nextSort(current: RunSort | undefined, column: string): RunSort {
  if (current === `-${column}`) return column;
  if (current === column) return `-${column}`;
  return `-${column}`;
}

function SortHeader({ label, column, sort, onSort }: { label: string; column: string; sort?: RunSort; onSort?: (s: RunSort) => void }) {
  const direction = sort === column ? "ascending" : sort === `-${column}` ? "descending" : "none";
  return (
    <span role="columnheader" aria-sort={direction} title={column}>
      <button type="button" className="sort" onClick={() => onSort?.(nextSort(sort, column))}>
        {label}
        {direction === "ascending" ? " ▲" : direction === "descending" ? " ▼" : ""}
      </button>
    </span>
  );
}

export function RunsTable({
  rows,
  directory,
  selected,
  onToggle,
  hasMore,
  onNeedMore,
  columns = [],
  sort,
  onSort,
  groupByExperiment = false,
}: RunsTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const items: TableItem[] = useMemo(
    () => (groupByExperiment ? groupRows(rows, sort) : rows.map((run) => ({ kind: "run", run }) as TableItem)),
    [rows, groupByExperiment, sort],
  );
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // jsdom has no layout: start with a window's worth of rows so tests see them.
    initialRect: { width: 1000, height: 600 },
  });
  const visible = virtualizer.getVirtualItems();
  const last = visible.length ? visible[visible.length - 1].index : -1;

  useEffect(() => {
    if (hasMore && last >= items.length - 40) onNeedMore();
  }, [last, items.length, hasMore, onNeedMore]);

  const template = { gridTemplateColumns: [FIXED_COLUMNS, ...columns.map(() => "minmax(90px, 1fr)")].join(" ") };
  const projectName = (id: string) => directory?.projects.find((p) => p.id === id)?.name ?? shortId(id);
  return (
    <div className="runs-table" role="table" aria-label="Runs">
      <div className="runs-inner" style={{ minWidth: 820 + columns.length * 90 }}>
        <div className="runs-row runs-head" role="row" style={template}>
          <span role="columnheader" />
          <span role="columnheader">Run</span>
          <span role="columnheader">State</span>
          <span role="columnheader">Rung</span>
          <span role="columnheader" className="col-project">Project</span>
          <span role="columnheader" className="col-owner">Owner</span>
          <SortHeader label="Priority" column="priority" sort={sort} onSort={onSort} />
          <SortHeader label="Created" column="created_at" sort={sort} onSort={onSort} />
          <span role="columnheader" className="col-duration">Duration</span>
          {columns.map((c) => (
            <SortHeader key={c} label={c.replace(/^(metrics|params)\./, "")} column={c} sort={sort} onSort={onSort} />
          ))}
        </div>
        <div ref={scroller} className="runs-scroll" data-testid="runs-scroll">
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {visible.map((virtual) => {
              const item = items[virtual.index];
              const place = { position: "absolute" as const, top: 0, transform: `translateY(${virtual.start}px)`, height: ROW_HEIGHT };
              if (item.kind === "group") {
                return (
                  <div key={`g-${item.experimentId}`} role="row" className="runs-row runs-group" data-group={item.experimentId} style={place}>
                    <span role="cell" className="group-title">
                      <strong>{item.name}</strong> · {item.count} run{item.count === 1 ? "" : "s"}
                      {item.best !== null && sort ? ` · best ${sort.replace(/^-/, "")} ${formatCell(item.best)}` : ""}
                    </span>
                  </div>
                );
              }
              const run = item.run;
              return (
                <div
                  key={run.id}
                  role="row"
                  className="runs-row"
                  data-run-id={run.id}
                  data-state={run.state}
                  style={{ ...template, ...place }}
                >
                  <span role="cell">
                    <input
                      type="checkbox"
                      aria-label={`select ${run.experiment_name} ${shortId(run.id)}`}
                      checked={selected.has(run.id)}
                      onChange={() => onToggle(run.id)}
                    />
                  </span>
                  <span role="cell">
                    <Link to={`/runs/${run.id}`}>
                      {run.experiment_name}
                      {run.trial_index > 0 ? ` #${run.trial_index}` : ""} <small>{shortId(run.id)}</small>
                    </Link>
                  </span>
                  <span role="cell">
                    <StateBadge state={run.state} />
                  </span>
                  <span role="cell">
                    <RungBadge rung={run.rung} exitReason={run.exit_reason} />
                  </span>
                  <span role="cell" className="col-project">{projectName(run.project_id)}</span>
                  <span role="cell" className="col-owner">{directory?.people[run.owner_id] ?? shortId(run.owner_id)}</span>
                  <span role="cell">{run.priority}</span>
                  <span role="cell">{formatTime(run.created_at)}</span>
                  <span role="cell" className="col-duration">{formatDuration(run.started_at, run.finished_at)}</span>
                  {columns.map((c) => (
                    <span role="cell" key={c} data-column={c} className="num">
                      {formatCell(run.columns?.[c])}
                    </span>
                  ))}
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}
