import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { LogTail } from "./LogTail";

const line = (id: number, text: string) => ({ id, attempt: 1, stream: "stdout", text, ts: "2024-01-01T00:00:00Z" });

describe("LogTail", () => {
  it("filters lines by the search text", async () => {
    render(<LogTail lines={[line(1, "epoch 1 loss 0.5"), line(2, "saving checkpoint")]} loading={false} error={null} />);
    await userEvent.type(screen.getByLabelText("Search logs"), "checkpoint");
    expect(screen.getByText("saving checkpoint")).toBeInTheDocument();
    expect(screen.queryByText("epoch 1 loss 0.5")).not.toBeInTheDocument();
  });

  it("toggles between following and paused", async () => {
    render(<LogTail lines={[line(1, "a")]} loading={false} error={null} />);
    await userEvent.click(screen.getByRole("button", { name: "Pause" }));
    expect(screen.getByRole("button", { name: "Follow" })).toHaveAttribute("aria-pressed", "false");
  });

  it("has an empty state", () => {
    render(<LogTail lines={[]} loading={false} error={null} />);
    expect(screen.getByText("No log lines yet.")).toBeInTheDocument();
  });
});
