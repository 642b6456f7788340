import { unwrap, type Api, type Schemas } from "@/lib/api";

export type Submitted = Schemas["ExperimentDetail"];

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
