import { unwrap, type Api, type Schemas } from "@/lib/api";

export type Me = Schemas["UserPublic"];

export async function fetchMe(api: Api): Promise<Me> {
  return unwrap(await api.client.GET("/api/v1/users/me"));
}
