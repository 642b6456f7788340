import { useQuery } from "@tanstack/react-query";
import { ErrorBox, Loading } from "@/components/StatusViews";
import { unwrap, useApi } from "@/lib/api";
import { shortId } from "@/lib/format";

/** Pick runs by hand from the 50 newest. */
export function RunPicker({ chosen, onChange }: { chosen: string[]; onChange: (ids: string[]) => void }) {
  const api = useApi();
  const recent = useQuery({
    queryKey: ["compare", "recent-runs"],
    queryFn: async ({ signal }) => unwrap(await api.client.GET("/api/v1/runs", { params: { query: { limit: 50 } }, signal })).items,
  });
  if (recent.error) return <ErrorBox error={recent.error} />;
  if (!recent.data) return <Loading what="recent runs" />;
  return (
    <details className="picker" open={chosen.length < 2 && chosen.length !== 0}>
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
