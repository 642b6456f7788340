import { useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { Empty, ErrorBox, Loading } from "@/components/StatusViews";
import { unwrap, useApi } from "@/lib/api";
import { alignSeries, type XAxis } from "@/lib/charts/shape";
import { UPlotChart } from "@/lib/charts/UPlotChart";
import { formatValue, shortId } from "@/lib/format";
import { usePolled } from "@/lib/usePolled";
import { fetchCompared, fetchSeries, type ComparedRun } from "../api/compare";
import { sortRows, type Cell } from "../hooks/sortRows";

const label = (c: ComparedRun) => `${c.run.experiment_name} ${shortId(c.run.id)}`;

function RunPicker({ chosen, onChange }: { chosen: string[]; onChange: (ids: string[]) => void }) {
  const api = useApi();
  const recent = usePolled(
    async (signal) => unwrap(await api.client.GET("/api/v1/runs", { params: { query: { limit: 50 } }, signal })).items,
    [api],
  );
  if (recent.error) return <ErrorBox error={recent.error} />;
  if (!recent.data) return <Loading what="recent runs" />;
  return (
    <details className="picker" open={chosen.length < 2}>
      <summary>Pick runs ({chosen.length} chosen)</summary>
      {recent.data.map((r) => (
        <label key={r.id}>
          <input
            type="checkbox"
            checked={chosen.includes(r.id)}
            onChange={() => onChange(chosen.includes(r.id) ? chosen.filter((x) => x !== r.id) : [...chosen, r.id])}
          />
          {r.experiment_name} {shortId(r.id)} <small>{r.state}</small>
        </label>
      ))}
    </details>
  );
}

function Overlay({ compared, metric, axis }: { compared: ComparedRun[]; metric: string; axis: XAxis }) {
  const api = useApi();
  const ids = compared.filter((c) => c.keys.includes(metric)).map((c) => c.run.id);
  const series = usePolled(
    (signal) => Promise.all(ids.map((id) => fetchSeries(api, id, metric, 1000, signal))),
    [api, metric, ids.join(",")],
  );
  const data = useMemo(() => (series.data ? alignSeries(series.data, axis) : null), [series.data, axis]);
  const labels = useMemo(
    () => ids.map((id) => label(compared.find((c) => c.run.id === id)!)),
    [ids.join(","), compared], // eslint-disable-line react-hooks/exhaustive-deps
  );
  if (series.error) return <ErrorBox error={series.error} />;
  if (!data) return <Loading what={metric} />;
  return <UPlotChart title={metric} data={data} seriesLabels={labels} axis={axis} width={900} height={320} />;
}

export function ComparePage() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const ids = (params.get("runs") ?? "").split(",").filter(Boolean);
  const setIds = (next: string[]) => setParams(next.length ? { runs: next.join(",") } : {}, { replace: true });
  const compared = usePolled((signal) => fetchCompared(api, ids, signal), [api, ids.join(",")]);
  const [metric, setMetric] = useState("");
  const [axis, setAxis] = useState<XAxis>("step");
  const [sort, setSort] = useState<{ column: string; descending: boolean }>({ column: "run", descending: false });

  const rows = compared.data ?? [];
  const paramKeys = [...new Set(rows.flatMap((c) => Object.keys(c.run.params ?? {})))].sort();
  const metricKeys = [...new Set(rows.flatMap((c) => c.keys))].sort();
  const shownMetric = metric && metricKeys.includes(metric) ? metric : metricKeys[0] ?? "";

  const cell = (c: ComparedRun, column: string): Cell => {
    if (column === "run") return label(c);
    if (column === "state") return c.run.state;
    if (column.startsWith("param:")) {
      const v = (c.run.params ?? {})[column.slice(6)];
      return typeof v === "number" || typeof v === "string" || typeof v === "boolean" ? v : JSON.stringify(v);
    }
    return c.finals[column.slice(7)] ?? null;
  };
  const sorted = sortRows(rows, (c) => cell(c, sort.column), sort.descending);
  const header = (column: string, text: string) => (
    <th key={column}>
      <button
        type="button"
        className="sort"
        onClick={() => setSort((s) => ({ column, descending: s.column === column ? !s.descending : false }))}
      >
        {text} {sort.column === column ? (sort.descending ? "▼" : "▲") : ""}
      </button>
    </th>
  );

  return (
    <section>
      <header className="page-head">
        <h1>Compare runs</h1>
      </header>
      <RunPicker chosen={ids} onChange={setIds} />
      {!ids.length ? (
        <Empty>
          Pick runs above, or select several in the <Link to="/runs">runs table</Link>.
        </Empty>
      ) : compared.error ? (
        <ErrorBox error={compared.error} retry={compared.reload} />
      ) : !compared.data ? (
        <Loading what="runs" />
      ) : (
        <>
          <section className="panel">
            <header className="panel-head">
              <label>
                metric{" "}
                <select aria-label="metric" value={shownMetric} onChange={(e) => setMetric(e.target.value)}>
                  {metricKeys.map((k) => (
                    <option key={k}>{k}</option>
                  ))}
                </select>
              </label>
              <label>
                x axis{" "}
                <select aria-label="x axis" value={axis} onChange={(e) => setAxis(e.target.value as XAxis)}>
                  <option value="step">step</option>
                  <option value="epoch">epoch</option>
                  <option value="wall_time">wall time</option>
                </select>
              </label>
            </header>
            {shownMetric ? <Overlay compared={rows} metric={shownMetric} axis={axis} /> : <Empty>These runs logged no metrics yet.</Empty>}
          </section>
          <section className="panel">
            <h2>Hyperparameters and final metrics</h2>
            <table aria-label="Comparison">
              <thead>
                <tr>
                  {header("run", "Run")}
                  {header("state", "State")}
                  {paramKeys.map((k) => header(`param:${k}`, k))}
                  {metricKeys.map((k) => header(`metric:${k}`, k))}
                </tr>
              </thead>
              <tbody>
                {sorted.map((c) => (
                  <tr key={c.run.id}>
                    <td>
                      <Link to={`/runs/${c.run.id}`}>{label(c)}</Link>
                    </td>
                    <td>{c.run.state}</td>
                    {paramKeys.map((k) => (
                      <td key={k}>{JSON.stringify((c.run.params ?? {})[k] ?? null)}</td>
                    ))}
                    {metricKeys.map((k) => (
                      <td key={k}>{formatValue(c.finals[k])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
    </section>
  );
}
