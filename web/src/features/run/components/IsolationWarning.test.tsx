import { render, screen } from "@testing-library/react";
import { IsolationWarning } from "./IsolationWarning";

describe("IsolationWarning", () => {
  it("warns about a run whose worker does not isolate runs", () => {
    render(<IsolationWarning isolation="none" />);
    expect(screen.getByRole("alert")).toHaveTextContent("This run is not isolated");
  });

  it("says nothing for a sandboxed or not yet placed run", () => {
    const { container } = render(
      <>
        <IsolationWarning isolation="sandbox" />
        <IsolationWarning isolation={null} />
      </>,
    );
    expect(container).toBeEmptyDOMElement();
  });
});
