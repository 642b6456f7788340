import { render, screen, within } from "@testing-library/react";
import type { RunDetail } from "../api/run";
import { ParamsAndSpec } from "./RunDetails";

function run(kind: "scheduled" | "external", params: Record<string, unknown>, flat: Record<string, unknown>): RunDetail {
  return { kind, params, flat_params: flat, spec: {} } as unknown as RunDetail;
}

describe("ParamsAndSpec", () => {
  it("marks a trial's search values as searched", () => {
    render(<ParamsAndSpec run={run("scheduled", { "model.init_args.lr": 0.1 }, { "model.lr": 0.1, "trainer.max_epochs": 3 })} />);
    const table = screen.getByTestId("flat-params");
    expect(within(table.querySelector('[data-param="model.lr"]') as HTMLElement).getByText("searched")).toBeInTheDocument();
    expect(within(table.querySelector('[data-param="trainer.max_epochs"]') as HTMLElement).queryByText("searched")).toBeNull();
  });

  it("marks nothing as searched on an external run, whose params are all it logged", () => {
    render(<ParamsAndSpec run={run("external", { lr: "0.1", batch_size: "32" }, { lr: "0.1", batch_size: "32" })} />);
    expect(screen.getByTestId("flat-params")).toHaveTextContent("0.1");
    expect(screen.queryByText("searched")).toBeNull();
  });
});
