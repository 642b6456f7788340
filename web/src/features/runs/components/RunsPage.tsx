import { useCallback, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { Empty, ErrorBox, Loading } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { usePolled } from "@/lib/usePolled";
import { ApiError } from "@/lib/errors";
import { columnList, DEFAULT_FILTERS, fetchDirectory, type RunFilters } from "../api/runs";
import { useRunList } from "../hooks/useRunList";
import { RunFiltersBar } from "./RunFiltersBar";
import { RunsTable } from "./RunsTable";

function filtersFrom(params: URLSearchParams): RunFilters {
  const filters = { ...DEFAULT_FILTERS };
  for (const key of Object.keys(DEFAULT_FILTERS) as (keyof RunFilters)[]) {
    const value = params.get(key);
    if (value !== null) (filters as Record<string, string>)[key] = value;
  }
  return filters;
}

export function RunsPage({ pollMs = 2000 }: { pollMs?: number }) {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFrom(params), [params]);
  const directory = usePolled((signal) => fetchDirectory(api, signal), [api]);
  const list = useRunList(filters, pollMs);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  // A 422 about the filter, the columns or the sort belongs next to that control.
  const problem = (where: (path: string) => boolean) =>
    list.error instanceof ApiError && list.error.status === 422
      ? (list.error.fieldErrors.find((f) => where(f.path))?.message ?? null)
      : null;
  const filterError = problem((p) => p === "query.filter");
  const columnsError = problem((p) => p.startsWith("query.columns") || p === "query.sort");
  const columns = columnList(filters);

  const setFilters = (next: RunFilters) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(next)) if (value && value !== (DEFAULT_FILTERS as unknown as Record<string, string>)[key]) search.set(key, value);
    setParams(search, { replace: true });
  };
  const toggle = useCallback(
    (id: string) =>
      setSelected((old) => {
        const next = new Set(old);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        return next;
      }),
    [],
  );

  return (
    <section>
      <header className="page-head">
        <h1>Runs</h1>
        <span className="count">{list.rows.length}{list.hasMore ? "+" : ""} runs</span>
        {selected.size >= 2 ? (
          <Link className="button" to={`/compare?runs=${[...selected].join(",")}`}>
            Compare {selected.size} runs
          </Link>
        ) : (
          <span className="hint">select two or more runs to compare</span>
        )}
      </header>
      <RunFiltersBar
        filters={filters}
        directory={directory.data}
        onChange={setFilters}
        filterError={filterError}
        columnsError={columnsError}
      />
      {list.error && !filterError && !columnsError && <ErrorBox error={list.error} />}
      {list.loading && !list.rows.length ? (
        <Loading what="runs" />
      ) : !list.rows.length && !list.error ? (
        <Empty>
          No runs match. <Link to="/submit">Submit an experiment</Link> or clear the filters.
        </Empty>
      ) : (
        <RunsTable
          rows={list.rows}
          directory={directory.data}
          selected={selected}
          onToggle={toggle}
          hasMore={list.hasMore}
          onNeedMore={list.loadMore}
          columns={columns}
          sort={filters.sort}
          onSort={(sort) => setFilters({ ...filters, sort })}
          groupByExperiment={filters.group === "experiment"}
        />
      )}
    </section>
  );
}
