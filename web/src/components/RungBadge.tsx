/** Where an ASHA trial stands: the rung it trains for or waits at, or where the search stopped
 * it. Nothing for runs outside an ASHA search (and trials it has not started). */
export function RungBadge({ rung, exitReason }: { rung: number | null | undefined; exitReason?: string | null }) {
  if (rung === null || rung === undefined) return null;
  const stopped = !!exitReason && exitReason.startsWith("stopped by ASHA");
  return (
    <span className={stopped ? "rung rung-stopped" : "rung"} title={exitReason ?? `ASHA rung ${rung}`}>
      {stopped ? `stopped at rung ${rung}` : `rung ${rung}`}
    </span>
  );
}
