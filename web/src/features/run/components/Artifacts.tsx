import { useState } from "react";
import { Empty, ErrorBox } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { formatBytes, formatTime, shortId } from "@/lib/format";
import type { Checkpoint, ExportedModel } from "../api/run";

export function Artifacts({ checkpoints, exports }: { checkpoints: Checkpoint[]; exports: ExportedModel[] }) {
  const api = useApi();
  const [error, setError] = useState<Error | null>(null);
  const save = (path: string, name: string) => api.download(path, name).catch((err: Error) => setError(err));
  return (
    <section className="panel">
      <h2>Checkpoints and exports</h2>
      {error && <ErrorBox error={error} />}
      {!checkpoints.length && !exports.length && <Empty>No checkpoints or exported models yet.</Empty>}
      {checkpoints.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Checkpoint</th>
              <th>Epoch</th>
              <th>Step</th>
              <th>Metrics</th>
              <th>Size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {checkpoints.map((c) => (
              <tr key={c.id} data-checkpoint-id={c.id}>
                <td>
                  {shortId(c.id)} {c.is_best && <span className="tag">best</span>} {c.is_last && <span className="tag">last</span>}
                </td>
                <td>{c.epoch}</td>
                <td>{c.step}</td>
                <td>
                  {Object.entries(c.metrics ?? {})
                    .map(([k, v]) => `${k}=${v.toPrecision(4)}`)
                    .join(" ")}
                </td>
                <td>{formatBytes(c.size)}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => save(`/api/v1/checkpoints/${c.id}/download`, `checkpoint-epoch${c.epoch}-step${c.step}.ckpt`)}
                  >
                    Download
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {exports.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Export</th>
              <th>Verified</th>
              <th>Size</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {exports.map((x) => (
              <tr key={x.id}>
                <td>{x.format}</td>
                <td>{x.verified ? "yes" : "no"}</td>
                <td>{formatBytes(x.size)}</td>
                <td>{formatTime(x.created_at)}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => save(`/api/v1/exports/${x.id}/download`, `model.${x.format === "onnx" ? "onnx" : "pt"}`)}
                  >
                    Download
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
