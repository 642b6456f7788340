import { StateBadge } from "@/components/StateBadge";
import { formatTime } from "@/lib/format";
import type { RunDetail } from "../api/run";

export function ParamsAndSpec({ run }: { run: RunDetail }) {
  const params = Object.entries(run.params ?? {});
  return (
    <section className="panel">
      <h2>Hyperparameters</h2>
      {params.length ? (
        <table className="kv">
          <tbody>
            {params.map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td>{JSON.stringify(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="hint">No searched hyperparameters; the model's arguments are in the spec.</p>
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
      {run.traceback && <pre className="traceback">{run.traceback}</pre>}
    </section>
  );
}
