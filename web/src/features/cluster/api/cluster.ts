import { unwrap, type Api, type Schemas } from "@/lib/api";

export type Cluster = Schemas["ClusterPublic"];

export async function fetchCluster(api: Api, signal?: AbortSignal): Promise<Cluster> {
  return unwrap(await api.client.GET("/api/v1/cluster", { signal }));
}
