import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import { SubmitPage } from "./SubmitPage";

afterEach(() => vi.unstubAllGlobals());

const SPEC = "name: x\nproject: p\nresources:\n  gpus_per_node: -1\n";

describe("SubmitPage", () => {
  it("shows a 422 next to the field it names", async () => {
    const server = fakeServer({
      "POST /api/v1/experiments": () =>
        json({ detail: [{ loc: ["body", "resources", "gpus_per_node"], msg: "must be at least 0", type: "v" }] }, 422),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<SubmitPage />);
    await userEvent.type(screen.getByRole("textbox", { name: "Spec" }), SPEC);
    await userEvent.click(screen.getByRole("button", { name: "Validate and submit" }));
    const error = await screen.findByText(/must be at least 0/);
    expect(error.closest("[data-field]")).toHaveAttribute("data-field", "resources.gpus_per_node");
    expect(error.closest(".bad-line")?.textContent).toContain("gpus_per_node: -1");
    expect(server.calls[0].headers.get("Content-Type")).toBe("application/yaml");
  });

  it("sends JSON as JSON and goes to the new run", async () => {
    const server = fakeServer({
      "POST /api/v1/experiments": () => json({ id: "e1", name: "x", run_ids: ["run-1"] }, 201),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<SubmitPage />);
    await userEvent.click(screen.getByRole("textbox", { name: "Spec" }));
    await userEvent.paste('{"name": "x", "project": "p"}');
    await userEvent.click(screen.getByRole("button", { name: "Validate and submit" }));
    expect(await screen.findByTestId("elsewhere")).toBeInTheDocument();
    expect(server.calls[0].headers.get("Content-Type")).toBe("application/json");
    expect(await server.calls[0].text()).toBe('{"name": "x", "project": "p"}');
  });

  it("validates without submitting and shows the trials and notes", async () => {
    const server = fakeServer({
      "POST /api/v1/experiments/validate": () =>
        json({
          project: "vision",
          project_id: "p1",
          trials: [
            { index: 0, params: { "model.init_args.lr": 0.1 } },
            { index: 1, params: { "model.init_args.lr": 0.01 } },
          ],
          resources_summary: "1 node x 1 GPU (1 slot)",
          notes: ["no worker has registered yet: the runs wait until one does"],
        }),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<SubmitPage />);
    await userEvent.type(screen.getByRole("textbox", { name: "Spec" }), "name: x\nproject: vision\n");
    await userEvent.click(screen.getByRole("button", { name: "Validate" }));
    const result = await screen.findByRole("status", { name: "Validation result" });
    expect(result).toHaveTextContent("Valid: 2 runs in project vision, 1 node x 1 GPU (1 slot) each");
    expect(result).toHaveTextContent("trial 1: model.init_args.lr=0.01");
    expect(result).toHaveTextContent("no worker has registered yet");
    expect(server.calls.map((c) => new URL(c.url).pathname)).toEqual(["/api/v1/experiments/validate"]);
    expect(screen.queryByTestId("elsewhere")).not.toBeInTheDocument();
  });

  it("shows a validation 422 next to its field like a submit", async () => {
    const server = fakeServer({
      "POST /api/v1/experiments/validate": () =>
        json(
          {
            detail: [
              {
                loc: ["body", "resources", "gpus_per_node"],
                msg: "asks for 8 GPUs per node, but no registered worker has more than 1 slot",
                type: "value_error",
              },
            ],
          },
          422,
        ),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<SubmitPage />);
    await userEvent.type(screen.getByRole("textbox", { name: "Spec" }), "name: x\nresources:\n  gpus_per_node: 8\n");
    await userEvent.click(screen.getByRole("button", { name: "Validate" }));
    const error = await screen.findByText(/no registered worker has more than 1 slot/);
    expect(error.closest(".bad-line")?.textContent).toContain("gpus_per_node: 8");
  });

  it("inserts an example in the user's own project", async () => {
    const server = fakeServer({
      "GET /api/v1/projects": () => json([{ id: "p1", name: "vision", description: "", created_at: "", role: "admin" }]),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<SubmitPage />);
    await userEvent.click(screen.getByRole("button", { name: "Insert an example" }));
    expect(await screen.findByDisplayValue(/project: vision/)).toBeInTheDocument();
  });
});
