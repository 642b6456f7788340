import { StateBadge } from "@/components/StateBadge";
import { formatTime } from "@/lib/format";
import type { RunDetail } from "../api/run";

export function ParamsAndSpec({ run }: { run: RunDetail }) {
  const params = Object.entries(run.flat_params ?? {});
  // A scheduled run's params are its search values; an external run's are all it logged.
  const searched = new Set(
    run.kind === "external" ? [] : Object.keys(run.params ?? {}).map((k) => k.replace(/^(model|datamodule)\.init_args\./, "$1.")),
  );
  return (
    <section className="panel">
      <h2>Parameters</h2>
      {params.length ? (
        <table className="kv" data-testid="flat-params">
          <tbody>
            {params.map(([k, v]) => (
              <tr key={k} data-param={k}>
                <th>
                  {k} {searched.has(k) && <span className="tag">searched</span>}
                </th>
                <td>{typeof v === "string" ? v : JSON.stringify(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="hint">No parameters recorded.</p>
      )}
      <details>
        <summary>Spec</summary>
        <pre className="spec">{JSON.stringify(run.spec, null, 2)}</pre>
      </details>
    </section>
  );
}

export function StateHistory({ run }: { run: RunDetail }) {
  return (
    <section className="panel">
      <h2>State history</h2>
      <table>
        <thead>
          <tr>
            <th>At</th>
            <th>From</th>
            <th>To</th>
            <th>Attempt</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {run.transitions.map((t, i) => (
            <tr key={i}>
              <td>{formatTime(t.at)}</td>
              <td>{t.from_state ? <StateBadge state={t.from_state} /> : "—"}</td>
              <td>
                <StateBadge state={t.to_state} />
              </td>
              <td>{t.attempt}</td>
              <td>{t.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A failed run's traceback, once, near the top (the state history keeps only its reason). */
export function FailurePanel({ run }: { run: RunDetail }) {
  if (!run.traceback) return null;
  return (
    <section className="panel failure" data-testid="failure">
      <h2>Failure</h2>
      <pre className="traceback">{run.traceback}</pre>
    </section>
  );
}
