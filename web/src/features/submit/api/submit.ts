import { unwrap, type Api, type Schemas } from "@/lib/api";

export type Submitted = Schemas["ExperimentDetail"];
export type Plan = Schemas["ExperimentPlan"];

/** JSON if it parses as a JSON object, else YAML (the server parses and validates both). */
export function specContentType(text: string): "application/json" | "application/yaml" {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      JSON.parse(trimmed);
      return "application/json";
    } catch {
      // Not valid JSON: YAML is a superset of JSON's flow style, let the server say what's wrong.
    }
  }
  return "application/yaml";
}

export async function submitSpec(api: Api, text: string): Promise<Submitted> {
  const contentType = specContentType(text);
  const result = await api.client.POST("/api/v1/experiments", {
    // The body goes as typed by the user: the server owns parsing and validation.
    body: text as unknown as Schemas["ExperimentSpec"],
    bodySerializer: (body) => body as unknown as string,
    headers: { "Content-Type": contentType },
  });
  return unwrap(result);
}

/** What submitting would create (the trials, the resources, notes), without creating anything. */
export async function validateSpec(api: Api, text: string): Promise<Plan> {
  const contentType = specContentType(text);
  const result = await api.client.POST("/api/v1/experiments/validate", {
    body: text as unknown as Schemas["ExperimentSpec"],
    bodySerializer: (body) => body as unknown as string,
    headers: { "Content-Type": contentType },
  });
  return unwrap(result);
}

/** The example spec, in a project the user belongs to (the first one), else `examples`. */
export async function exampleSpec(api: Api): Promise<string> {
  let project = "examples";
  try {
    const projects = unwrap(await api.client.GET("/api/v1/projects"));
    if (projects.length) project = projects[0].name;
  } catch {
    // The example still helps; the server says which project is wrong if it is.
  }
  return `name: digits-mlp
project: ${project}
model:
  entrypoint: examples.digits:DigitsClassifier
datamodule:
  entrypoint: examples.digits:DigitsDataModule
trainer:
  max_epochs: 3
checkpoint:
  monitor: val_loss
`;
}
