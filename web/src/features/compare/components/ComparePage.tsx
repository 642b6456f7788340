/** Compare: up to 1,000 runs, chosen by id or by a filter, as parallel coordinates of their
 * params against a metric (brushing an axis filters the table), a scatter of any two columns,
 * and several metrics overlaid over time. One request brings every param and metric summary. */
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { Empty, ErrorBox, Loading } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { shortId } from "@/lib/format";
import { fetchCompareTable, type Selection } from "../api/compare";
import { brushedRows, brushExpression, edge, withBrush, type Brushes } from "../hooks/brush";
import { axisOf, columnsOf, metricColumn, paramColumn, parallelData, scatterData, varyingParams, type Axis, type Column, type CompareRow } from "../hooks/columns";
import { CompareTableView } from "./CompareTableView";
import { MetricOverlay } from "./MetricOverlay";
import { RunPicker } from "./RunPicker";

// ECharts is most of this page's code and no other page's: it loads with the page's charts.
// The page starts loading it when it opens, alongside the table's request, rather than once
// the table has arrived (the import's promise is shared, so it loads once).
const loadParallel = () => import("./ParallelCoordinates");
const loadScatter = () => import("./ScatterPlot");
const ParallelCoordinates = lazy(() => loadParallel().then((m) => ({ default: m.ParallelCoordinates })));
const ScatterPlot = lazy(() => loadScatter().then((m) => ({ default: m.ScatterPlot })));

const label = (r: CompareRow) => `${r.experiment_name} ${shortId(r.id)}`;
/** Time series of this many runs at most (the first of the table's order): one request each. */
const OVERLAY_RUNS = 10;

function selectionFrom(params: URLSearchParams): Selection | null {
  const filter = params.get("filter");
  if (filter) return { filter };
  const ids = (params.get("runs") ?? "").split(",").filter(Boolean);
  return ids.length ? { runIds: ids } : null;
}

function FilterForm({ initial, onApply }: { initial: string; onApply: (filter: string) => void }) {
  const [text, setText] = useState(initial);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(text.trim());
  };
  return (
    <form className="filter-expr" onSubmit={submit}>
      <input
        aria-label="Compare runs matching"
        placeholder="or compare the runs matching a filter, e.g. experiment = 'lr-search'"
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit">Compare matching</button>
    </form>
  );
}

function BrushChips({ axes, brushes, onClear }: { axes: Axis[]; brushes: Brushes; onClear: () => void }) {
  const active = axes.filter((a) => brushes[a.column.id]?.length);
  if (!active.length) return <span className="hint">drag along an axis to brush it; the table shows the runs inside every brush</span>;
  const expression = brushExpression(axes, brushes);
  return (
    <span className="columns-chooser" data-testid="brushes">
      {active.map((axis) => (
        <span className="chip" key={axis.column.id} data-brush={axis.column.id}>
          {axis.column.label}{" "}
          {brushes[axis.column.id]
            .map(([a, b]) =>
              axis.type === "value"
                ? `${edge(a, "down")} – ${edge(b, "up")}`
                : axis.categories.filter((_, i) => i >= a && i <= b).join(", ") || "none",
            )
            .join(" or ")}
        </span>
      ))}
      <button type="button" onClick={onClear}>
        Clear brushes
      </button>
      {expression && (
        <Link to={`/runs?${new URLSearchParams({ filter: expression })}`} title={expression}>
          Open in runs list
        </Link>
      )}
    </span>
  );
}

function ColumnSelect({ name, columns, value, onChange }: { name: string; columns: Column[]; value: string; onChange: (id: string) => void }) {
  return (
    <label>
      {name}{" "}
      <select aria-label={name} value={value} onChange={(e) => onChange(e.target.value)}>
        {columns.map((c) => (
          <option key={c.id} value={c.id}>
            {c.kind === "param" ? c.label : `metric ${c.label}`}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ComparePage() {
  const api = useApi();
  useEffect(() => {
    void loadParallel();
    void loadScatter();
  }, []);
  const [params, setParams] = useSearchParams();
  const selection = selectionFrom(params);
  const table = useQuery({
    queryKey: ["compare", "table", selection],
    queryFn: ({ signal }) => fetchCompareTable(api, selection!, signal),
    enabled: selection !== null,
  });
  const [metricId, setMetricId] = useState("");
  const [chosenParams, setChosenParams] = useState<string[] | null>(null);
  const [brushes, setBrushes] = useState<Brushes>({});
  const [scatterX, setScatterX] = useState("");
  const [scatterY, setScatterY] = useState("");
  const [overlayKeys, setOverlayKeys] = useState<string[] | null>(null);

  const rows = useMemo(() => table.data?.runs ?? [], [table.data]);
  const paramKeys = table.data?.param_keys ?? [];
  const metricKeys = table.data?.metric_keys ?? [];
  const columns = useMemo(() => (table.data ? columnsOf(table.data) : []), [table.data]);
  const metricColumns = columns.filter((c) => c.kind === "metric");
  const metric = metricColumns.find((c) => c.id === metricId) ?? (metricKeys.length ? metricColumn(metricKeys[0]) : null);
  const shownParams = useMemo(
    () => (chosenParams ?? varyingParams(rows, paramKeys)).filter((k) => paramKeys.includes(k)),
    [chosenParams, rows, paramKeys.join("\u0000")], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const parallel = useMemo(
    () => (metric ? parallelData(rows, [...shownParams.map(paramColumn), metric]) : null),
    [rows, shownParams, metric?.id], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const labels = useMemo(() => rows.map(label), [rows]);
  const filtered = useMemo(() => (parallel ? brushedRows(rows, parallel.axes, brushes) : rows), [rows, parallel, brushes]);
  const selectedIndex = useMemo(() => {
    const ids = new Set(filtered.map((r) => r.id));
    return new Set(rows.flatMap((r, i) => (ids.has(r.id) ? [i] : [])));
  }, [rows, filtered]);

  const xColumn = columns.find((c) => c.id === scatterX) ?? (shownParams[0] ? paramColumn(shownParams[0]) : columns[0]);
  const yColumn = columns.find((c) => c.id === scatterY) ?? metric ?? columns[1];
  const scatter = useMemo(() => {
    if (!xColumn || !yColumn) return null;
    const x = axisOf(rows, xColumn);
    const y = axisOf(rows, yColumn);
    return { x, y, points: scatterData(rows, x, y) };
  }, [rows, xColumn?.id, yColumn?.id]); // eslint-disable-line react-hooks/exhaustive-deps
  const overlay = (overlayKeys ?? (metric ? [metric.key] : [])).filter((k) => metricKeys.includes(k));

  const choose = (next: URLSearchParams) => {
    setBrushes({});
    setParams(next, { replace: true });
  };
  const toggleParam = (key: string) =>
    setChosenParams(shownParams.includes(key) ? shownParams.filter((k) => k !== key) : [...shownParams, key]);
  const toggleOverlay = (key: string) => setOverlayKeys(overlay.includes(key) ? overlay.filter((k) => k !== key) : [...overlay, key]);

  return (
    <section className="compare">
      <header className="page-head">
        <h1>Compare runs</h1>
        {table.data && (
          <span className="hint" data-testid="compare-count">
            {table.data.runs.length} runs{table.data.truncated ? " (the first 1,000 the filter matched)" : ""}
            {table.data.missing?.length ? `; ${table.data.missing.length} not found among your projects` : ""}
          </span>
        )}
      </header>
      <RunPicker
        chosen={selection && "runIds" in selection ? selection.runIds : []}
        onChange={(ids) => choose(new URLSearchParams(ids.length ? { runs: ids.join(",") } : {}))}
      />
      <FilterForm
        key={selection && "filter" in selection ? selection.filter : ""}
        initial={selection && "filter" in selection ? selection.filter : ""}
        onApply={(filter) => choose(new URLSearchParams(filter ? { filter } : {}))}
      />
      {!selection ? (
        <Empty>
          Pick runs above, give a filter, or select several in the <Link to="/runs">runs table</Link>.
        </Empty>
      ) : table.error ? (
        <ErrorBox error={table.error} retry={() => void table.refetch()} />
      ) : !table.data ? (
        <Loading what="runs" />
      ) : !rows.length ? (
        <Empty>No runs to compare: none of these is among your projects, or the filter matched none.</Empty>
      ) : (
        <>
          <section className="panel" aria-label="Parallel coordinates">
            <header className="panel-head">
              <h2>Params against a metric</h2>
              {metric && <ColumnSelect name="metric" columns={metricColumns} value={metric.id} onChange={setMetricId} />}
              <details className="picker axis-picker">
                <summary>Axes ({shownParams.length} params)</summary>
                {paramKeys.map((key) => (
                  <label key={key}>
                    <input type="checkbox" checked={shownParams.includes(key)} onChange={() => toggleParam(key)} /> {key}
                  </label>
                ))}
              </details>
            </header>
            {!metric || !parallel ? (
              <Empty>These runs logged no metrics yet.</Empty>
            ) : (
              <>
                <Suspense fallback={<Loading what="chart" />}>
                  <ParallelCoordinates
                    axes={parallel.axes}
                    data={parallel.data}
                    labels={labels}
                    brushes={brushes}
                    onBrush={(id, intervals) => setBrushes((b) => withBrush(b, id, intervals))}
                  />
                </Suspense>
                <BrushChips axes={parallel.axes} brushes={brushes} onClear={() => setBrushes({})} />
              </>
            )}
          </section>
          <div className="two-columns">
            <section className="panel" aria-label="Scatter">
              <header className="panel-head">
                <h2>Scatter</h2>
                {xColumn && <ColumnSelect name="x" columns={columns} value={xColumn.id} onChange={setScatterX} />}
                {yColumn && <ColumnSelect name="y" columns={columns} value={yColumn.id} onChange={setScatterY} />}
              </header>
              {scatter ? (
                <Suspense fallback={<Loading what="chart" />}>
                  <ScatterPlot x={scatter.x} y={scatter.y} points={scatter.points} labels={labels} selected={selectedIndex} />
                </Suspense>
              ) : (
                <Empty>Nothing to plot yet.</Empty>
              )}
            </section>
            <section className="panel" aria-label="Metrics over time">
              <header className="panel-head">
                <h2>Metrics over time</h2>
                <details className="picker axis-picker">
                  <summary>Metrics ({overlay.length})</summary>
                  {metricKeys.map((key) => (
                    <label key={key}>
                      <input type="checkbox" aria-label={`overlay ${key}`} checked={overlay.includes(key)} onChange={() => toggleOverlay(key)} /> {key}
                    </label>
                  ))}
                </details>
                <span className="hint">
                  {filtered.length > OVERLAY_RUNS ? `the first ${OVERLAY_RUNS} of ${filtered.length} runs in the table` : `${filtered.length} runs`}
                </span>
              </header>
              <MetricOverlay runs={filtered.slice(0, OVERLAY_RUNS)} label={label} metricKeys={overlay} />
            </section>
          </div>
          <CompareTableView rows={filtered} total={rows.length} label={label} paramKeys={shownParams} metricKeys={metricKeys} />
        </>
      )}
    </section>
  );
}
