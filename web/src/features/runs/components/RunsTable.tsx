/** A virtual list: only the rows on screen are in the DOM, so 10,000 runs scroll smoothly. */
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef } from "react";
import { Link } from "react-router-dom";
import { RungBadge } from "@/components/RungBadge";
import { StateBadge } from "@/components/StateBadge";
import { formatDuration, formatTime, shortId } from "@/lib/format";
import type { Directory, Run } from "../api/runs";

const ROW_HEIGHT = 34;

export interface RunsTableProps {
  rows: Run[];
  directory: Directory | undefined;
  selected: Set<string>;
  onToggle: (id: string) => void;
  hasMore: boolean;
  onNeedMore: () => void;
}

export function RunsTable({ rows, directory, selected, onToggle, hasMore, onNeedMore }: RunsTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // jsdom has no layout: start with a window's worth of rows so tests see them.
    initialRect: { width: 1000, height: 600 },
  });
  const items = virtualizer.getVirtualItems();
  const last = items.length ? items[items.length - 1].index : -1;

  useEffect(() => {
    if (hasMore && last >= rows.length - 40) onNeedMore();
  }, [last, rows.length, hasMore, onNeedMore]);

  const projectName = (id: string) => directory?.projects.find((p) => p.id === id)?.name ?? shortId(id);
  return (
    <div className="runs-table" role="table" aria-label="Runs">
      <div className="runs-row runs-head" role="row">
        <span role="columnheader" />
        <span role="columnheader">Run</span>
        <span role="columnheader">State</span>
        <span role="columnheader">Rung</span>
        <span role="columnheader">Project</span>
        <span role="columnheader">Owner</span>
        <span role="columnheader">Priority</span>
        <span role="columnheader">Created</span>
        <span role="columnheader">Duration</span>
      </div>
      <div ref={scroller} className="runs-scroll" data-testid="runs-scroll">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {items.map((item) => {
            const run = rows[item.index];
            return (
              <div
                key={run.id}
                role="row"
                className="runs-row"
                data-run-id={run.id}
                data-state={run.state}
                style={{ position: "absolute", top: 0, transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
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
                <span role="cell">{projectName(run.project_id)}</span>
                <span role="cell">{directory?.people[run.owner_id] ?? shortId(run.owner_id)}</span>
                <span role="cell">{run.priority}</span>
                <span role="cell">{formatTime(run.created_at)}</span>
                <span role="cell">{formatDuration(run.started_at, run.finished_at)}</span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
