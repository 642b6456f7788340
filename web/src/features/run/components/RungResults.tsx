import { RungBadge } from "@/components/RungBadge";
import type { RunDetail } from "../api/run";

/** An ASHA trial's metric at the end of each rung it reached. */
export function RungResults({ run }: { run: RunDetail }) {
  const results = run.rung_results ?? [];
  if ((run.rung === null || run.rung === undefined) && !results.length) return null;
  return (
    <section className="panel" aria-label="ASHA rungs">
      <h2>
        ASHA rungs <RungBadge rung={run.rung} exitReason={run.exit_reason} />
      </h2>
      {results.length ? (
        <table>
          <thead>
            <tr>
              <th>Rung</th>
              <th>Epochs</th>
              <th>Metric</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r) => (
              <tr key={r.rung}>
                <td>{r.rung}</td>
                <td>{r.epochs}</td>
                <td>{r.value === null || r.value === undefined ? "NaN" : r.value.toPrecision(4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="hint">Training towards the end of rung {run.rung}.</p>
      )}
    </section>
  );
}
