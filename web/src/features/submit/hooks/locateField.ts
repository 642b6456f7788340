/** Find the line of a field path ("resources.gpus_per_node", "search.params.lr.0") in a YAML
 * or JSON document, so an error shows next to the field. Indices and unknown keys resolve to
 * the nearest known parent. Returns a 0-based line number or null. */
export function locateField(text: string, path: string): number | null {
  const lines = text.split(/\r?\n/);
  let from = 0;
  let found: number | null = null;
  for (const segment of path.split(".").filter(Boolean)) {
    if (/^\d+$/.test(segment)) continue; // list index: stay on the list's line
    const pattern = new RegExp(`^\\s*(-\\s*)?["']?${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["']?\\s*:`);
    let hit: number | null = null;
    for (let i = from; i < lines.length; i++) {
      if (pattern.test(lines[i]) || (lines[i].includes(`"${segment}"`) && lines[i].includes(":"))) {
        hit = i;
        break;
      }
    }
    if (hit === null) break;
    found = hit;
    from = hit;
  }
  return found;
}
