import { Link } from "react-router-dom";
import { StateBadge } from "@/components/StateBadge";
import { Empty, ErrorBox, Loading } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { formatTime, shortId } from "@/lib/format";
import { usePolled } from "@/lib/usePolled";
import { fetchCluster, type Cluster } from "../api/cluster";

function Workers({ workers }: { workers: Cluster["workers"] }) {
  if (!workers.length) return <Empty>No workers have registered. Start one with <code>python -m worker</code>.</Empty>;
  return (
    <div className="workers">
      {workers.map((w) => (
        <div key={w.id} className={`worker ${w.alive ? "" : "worker-dead"}`} data-testid={`worker-${w.name}`}>
          <h3>
            {w.name} <small>{w.alive ? w.state : `no heartbeat for ${w.seconds_since_heartbeat.toFixed(0)}s`}</small>
          </h3>
          <div className="slots">
            {w.slots.map((s) => (
              <div key={s.slot} className={`slot ${s.holder ? "slot-held" : "slot-free"}`}>
                <span className="slot-name">
                  {w.gpu_names[Number(s.slot)] ?? "slot"} {s.slot}
                </span>
                {s.holder ? (
                  s.holder.run_id ? (
                    <Link to={`/runs/${s.holder.run_id}`}>
                      {s.holder.experiment_name ?? shortId(s.holder.run_id)} · {s.holder.owner} · {s.holder.project}
                    </Link>
                  ) : (
                    <span className="hint">another team</span>
                  )
                ) : (
                  <span className="hint">free</span>
                )}
                {s.holder && <StateBadge state={s.holder.state} />}
              </div>
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}

function Queue({ queue, total }: { queue: Cluster["queue"]; total: number }) {
  if (!queue.length) return <Empty>The queue is empty.</Empty>;
  return (
    <>
      <table aria-label="Queue">
        <thead>
          <tr>
            <th>#</th>
            <th title="its place among its owner's queued runs">Owner&apos;s #</th>
            <th>Run</th>
            <th>Owner</th>
            <th>Project</th>
            <th>Priority</th>
            <th>Slots</th>
            <th>Queued</th>
            <th>Waits for</th>
            <th>Expected wait</th>
          </tr>
        </thead>
        <tbody>
          {queue.map((e) => (
            <tr key={e.position}>
              <td>{e.position}</td>
              <td>{e.user_position}</td>
              <td>{e.run_id ? <Link to={`/runs/${e.run_id}`}>{e.experiment_name ?? shortId(e.run_id)}</Link> : <span className="hint">another team</span>}</td>
              <td>{e.owner ?? "—"}</td>
              <td>{e.project ?? "—"}</td>
              <td>{e.priority}</td>
              <td>
                {e.slots}
                {e.nodes > 1 ? ` (${e.nodes} nodes)` : ""}
              </td>
              <td>{formatTime(e.queued_at)}</td>
              <td title={e.note}>
                <span className={`queue-${e.reason}`}>{e.reason.replaceAll("_", " ")}</span> <small className="hint">{e.note}</small>
              </td>
              <td>{formatWait(e.wait_seconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {total > queue.length && <p className="hint">and {total - queue.length} more queued runs</p>}
    </>
  );
}

/** "~1h05m", "~3m20s", "now", or "unknown" when nothing tells how long the runs ahead take. */
export function formatWait(seconds: number | null | undefined): string {
  if (seconds == null) return "unknown";
  if (seconds < 1) return "now";
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  if (hours) return `~${hours}h${String(minutes % 60).padStart(2, "0")}m`;
  return `~${minutes}m${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
}

function Shares({ users, windowSeconds }: { users: Cluster["users"]; windowSeconds: number }) {
  if (!users.length) return <Empty>No GPU time used in the last {Math.round(windowSeconds / 86400)} days.</Empty>;
  return (
    <table aria-label="Shares">
      <thead>
        <tr>
          <th>User</th>
          <th>Share of recent GPU time</th>
          <th>GPU hours</th>
          <th>Slots in use</th>
          <th>Quota</th>
        </tr>
      </thead>
      <tbody>
        {users.map((u) => (
          <tr key={u.user}>
            <td>{u.user}</td>
            <td>
              <span className="bar" style={{ width: `${Math.round(u.share * 100)}%` }} /> {(u.share * 100).toFixed(1)}%
            </td>
            <td>{(u.recent_gpu_seconds / 3600).toFixed(2)}</td>
            <td>{u.slots_in_use}</td>
            <td>{u.quota ?? "none"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ClusterPage({ pollMs = 3000 }: { pollMs?: number }) {
  const api = useApi();
  const cluster = usePolled((signal) => fetchCluster(api, signal), [api], pollMs);
  if (!cluster.data) return cluster.error ? <ErrorBox error={cluster.error} retry={cluster.reload} /> : <Loading what="the cluster" />;
  const { workers, queue, queue_total, users, fair_share_window_seconds } = cluster.data;
  return (
    <section>
      <header className="page-head">
        <h1>Cluster</h1>
        <span className="hint">
          {workers.filter((w) => w.alive).length} live workers · {workers.reduce((n, w) => n + w.slots.filter((s) => !s.holder).length, 0)} free slots ·{" "}
          {queue_total} queued
        </span>
      </header>
      {cluster.error && <ErrorBox error={cluster.error} />}
      <section className="panel">
        <h2>Workers</h2>
        <Workers workers={workers} />
      </section>
      <section className="panel">
        <h2>Queue, in scheduling order</h2>
        <Queue queue={queue} total={queue_total} />
      </section>
      <section className="panel">
        <h2>Fair share</h2>
        <Shares users={users} windowSeconds={fair_share_window_seconds} />
      </section>
    </section>
  );
}
