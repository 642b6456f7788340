import { render, screen, within } from "@testing-library/react";
import type { RunDetail } from "../api/run";
import { RungResults } from "./RungResults";

const trial = (fields: Partial<RunDetail>) => ({ rung: null, rung_results: [], exit_reason: null, ...fields }) as RunDetail;

describe("RungResults", () => {
  it("lists the metric at the end of each rung and where ASHA stopped the trial", () => {
    render(
      <RungResults
        run={trial({
          rung: 1,
          exit_reason: "stopped by ASHA at rung 1",
          rung_results: [
            { rung: 0, epochs: 1, value: 0.8125 },
            { rung: 1, epochs: 3, value: 0.9 },
          ],
        })}
      />,
    );
    const panel = screen.getByRole("region", { name: "ASHA rungs" });
    expect(within(panel).getByText("stopped at rung 1")).toBeInTheDocument();
    const rows = within(panel).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.textContent)).toEqual(["010.8125", "130.9000"]);
  });

  it("shows the rung a trial is training for before it has a result there", () => {
    render(<RungResults run={trial({ rung: 0 })} />);
    expect(screen.getByText("rung 0")).toBeInTheDocument();
    expect(screen.getByText("Training towards the end of rung 0.")).toBeInTheDocument();
  });

  it("says nothing for a run outside an ASHA search", () => {
    const { container } = render(<RungResults run={trial({})} />);
    expect(container).toBeEmptyDOMElement();
  });
});
