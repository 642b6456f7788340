import { locateField } from "./locateField";

const yaml = `name: x
project: p
model:
  entrypoint: a.b:C
resources:
  gpus_per_node: -1
  nodes: 1
trainer:
  max_epochs: 0
`;

describe("locateField", () => {
  it("finds a nested YAML field under its parent", () => {
    expect(locateField(yaml, "resources.gpus_per_node")).toBe(5);
    expect(locateField(yaml, "trainer.max_epochs")).toBe(8);
  });

  it("falls back to the nearest parent for a key that is missing", () => {
    expect(locateField(yaml, "resources.unknown_field")).toBe(4);
  });

  it("finds keys in JSON", () => {
    const text = '{\n  "name": "x",\n  "resources": {\n    "nodes": 0\n  }\n}';
    expect(locateField(text, "resources.nodes")).toBe(3);
  });

  it("returns null when nothing matches", () => {
    expect(locateField(yaml, "search")).toBeNull();
  });
});
