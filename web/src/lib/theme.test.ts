import { applyTheme, readChoice, saveChoice } from "./theme";

function systemPrefersDark(dark: boolean) {
  vi.stubGlobal("matchMedia", (query: string) => ({
    matches: dark && query.includes("dark"),
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
  }));
}

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("theme", () => {
  it("follows the system until the user chooses, then keeps the choice", () => {
    systemPrefersDark(true);
    expect(readChoice()).toBe("system");
    expect(applyTheme()).toBe("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    saveChoice("light");
    expect(localStorage.getItem("runyard.theme")).toBe("light");
    expect(applyTheme()).toBe("light");
    saveChoice("system");
    expect(localStorage.getItem("runyard.theme")).toBeNull();
    systemPrefersDark(false);
    expect(applyTheme()).toBe("light");
  });
});
