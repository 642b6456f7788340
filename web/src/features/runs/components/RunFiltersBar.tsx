import type { Directory, RunFilters, RunSort } from "../api/runs";
import { RUN_STATES } from "../api/runs";

export interface RunFiltersBarProps {
  filters: RunFilters;
  directory: Directory | undefined;
  onChange: (filters: RunFilters) => void;
}

export function RunFiltersBar({ filters, directory, onChange }: RunFiltersBarProps) {
  const set = <K extends keyof RunFilters>(key: K, value: RunFilters[K]) => onChange({ ...filters, [key]: value });
  return (
    <div className="filters">
      <input
        aria-label="Search runs"
        placeholder="Search by name"
        value={filters.q}
        onChange={(e) => set("q", e.target.value)}
      />
      <select aria-label="State" value={filters.state} onChange={(e) => set("state", e.target.value as RunFilters["state"])}>
        <option value="">any state</option>
        {RUN_STATES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <select aria-label="Project" value={filters.project_id} onChange={(e) => set("project_id", e.target.value)}>
        <option value="">all projects</option>
        {directory?.projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      <select aria-label="Owner" value={filters.owner_id} onChange={(e) => set("owner_id", e.target.value)}>
        <option value="">anyone</option>
        {Object.entries(directory?.people ?? {}).map(([id, email]) => (
          <option key={id} value={id}>
            {email}
          </option>
        ))}
      </select>
      <input aria-label="Tag" placeholder="tag" value={filters.tag} onChange={(e) => set("tag", e.target.value)} />
      <select aria-label="Sort" value={filters.sort} onChange={(e) => set("sort", e.target.value as RunSort)}>
        <option value="-created_at">newest first</option>
        <option value="created_at">oldest first</option>
        <option value="-priority">highest priority</option>
        <option value="priority">lowest priority</option>
      </select>
    </div>
  );
}
