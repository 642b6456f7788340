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
});
