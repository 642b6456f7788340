import { formatCell } from "@/lib/format";
import type { RunSummary as Summary } from "../api/run";

type Direction = "min" | "max";

/** Which end of a metric is its best: the checkpoint monitor's mode for the monitored key,
 * otherwise lower for names that read like a loss or an error, higher for the rest. */
export function bestDirection(key: string, monitor?: string | null, mode?: string | null): Direction {
  if (monitor && key === monitor) return mode === "max" ? "max" : "min";
  return /loss|err|mse|mae|rmse|perplexity|ppl|time|latency/i.test(key) ? "min" : "max";
}

export function RunSummary({ summary, monitor, mode }: { summary: Summary | undefined; monitor?: string | null; mode?: string | null }) {
  const metrics = (summary?.metrics ?? []).filter((m) => !m.key.startsWith("system/"));
  return (
    <section className="panel" data-testid="run-summary">
      <h2>Summary</h2>
      {!metrics.length ? (
        <p className="hint">No metrics yet.</p>
      ) : (
        <table className="run-summary">
          <thead>
            <tr>
              <th>Metric</th>
              <th>Best</th>
              <th>Last</th>
              <th className="hide-narrow">Min</th>
              <th className="hide-narrow">Max</th>
            </tr>
          </thead>
          <tbody>
            {metrics.map((m) => {
              const direction = bestDirection(m.key, monitor, mode);
              const best = direction === "min" ? m.min : m.max;
              return (
                <tr key={m.key} data-metric-summary={m.key}>
                  <th>{m.key}</th>
                  <td className="num" data-best>
                    {formatCell(best.value)} <small className="hint">{direction} · step {best.step}</small>
                  </td>
                  <td className="num" data-last>
                    {formatCell(m.last.value)} <small className="hint">step {m.last.step}</small>
                  </td>
                  <td className="num hide-narrow">{formatCell(m.min.value)}</td>
                  <td className="num hide-narrow">{formatCell(m.max.value)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
