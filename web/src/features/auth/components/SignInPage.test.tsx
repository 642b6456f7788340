import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { clearToken } from "@/lib/session";
import { SignInPage } from "./SignInPage";

describe("SignInPage", () => {
  it("shows why the user was signed out", () => {
    clearToken("You were signed out: token revoked.");
    render(<SignInPage onSignIn={async () => null} />);
    expect(screen.getByRole("alert")).toHaveTextContent("token revoked");
  });

  it("shows the server's answer to a wrong token", async () => {
    render(<SignInPage onSignIn={async () => "invalid token"} />);
    await userEvent.type(screen.getByLabelText("API token"), "ry_user_wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("invalid token");
  });

  it("names the command that creates a token, with a label", () => {
    render(<SignInPage onSignIn={async () => null} />);
    expect(screen.getByText(/kept for this tab only/)).toHaveTextContent(
      "Create one with runyard token create LABEL (add --expires 30d for one that lapses)",
    );
  });
});
