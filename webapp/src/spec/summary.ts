// A valid spec in a few words, as services/spec.py `spec_summary` writes it, e.g.
// "web-cluster: nginx:1.27 ×2, 2 CPU / 4 GiB, 20 GB, region any".
import type { JsonObject } from "./json";

/** The parts of a valid spec that a voter reads first (typed view over the validated JSON). */
export interface SpecView {
  clusterName: string;
  type: string;
  healthCheck: { path: string; port: number } | null;
  image: string;
  tag: string;
  replicas: number;
  size: string;
  storage: number;
  persistent: { size: number; class: string; mountPoint: string } | null;
  region: string;
  ports: { containerPort: number; exposedPort: number }[];
  env: { key: string; value: string }[];
  secrets: { key: string; reference: string }[];
  commands: string[];
  args: string[];
}

/** The typed view of a spec that passed validation. */
export function specView(spec: JsonObject): SpecView {
  const config = spec["configuration"] as JsonObject;
  const custom = config["customSpecs"] as JsonObject | null | undefined;
  const persistent = config["persistentStorage"] as JsonObject | null | undefined;
  const health = spec["healthCheckConfig"] as JsonObject | null | undefined;
  return {
    clusterName: String(spec["clusterName"]),
    type: String(spec["type"]),
    healthCheck: health ? { path: String(health["path"]), port: Number(health["port"]) } : null,
    image: String(config["image"]),
    tag: String(config["tag"]),
    replicas: Number(config["replicas"]),
    size: custom
      ? `${Number(custom["cpu"])} CPU / ${Number(custom["memory"])} GiB`
      : `machine ${String(config["machineImageId"])}`,
    storage: Number(config["storage"]),
    persistent: persistent
      ? { size: Number(persistent["size"]), class: String(persistent["class"]), mountPoint: String(persistent["mountPoint"]) }
      : null,
    region: String(config["region"]),
    ports: ((config["ports"] ?? []) as JsonObject[]).map((port) => ({
      containerPort: Number(port["containerPort"]),
      exposedPort: Number(port["exposedPort"]),
    })),
    env: ((config["environmentVariables"] ?? []) as JsonObject[]).map((v) => ({ key: String(v["key"]), value: String(v["value"]) })),
    secrets: ((config["secretEnvironmentVariables"] ?? []) as JsonObject[]).map((v) => ({
      key: String(v["key"]),
      reference: String(v["value"]).replace(/^\$\{secret:(.*)\}$/, "$1"),
    })),
    commands: ((config["commands"] ?? []) as string[]).map(String),
    args: ((config["args"] ?? []) as string[]).map(String),
  };
}

/** One line, e.g. "web-cluster: nginx:1.27 ×2, 2 CPU / 4 GiB, 20 GB, region any". */
export function specSummary(spec: JsonObject): string {
  const view = specView(spec);
  let storage = `${view.storage} GB`;
  if (view.persistent) {
    storage += ` + ${view.persistent.size} GB ${view.persistent.class} at ${view.persistent.mountPoint}`;
  }
  return `${view.clusterName}: ${view.image}:${view.tag} ×${view.replicas}, ${view.size}, ${storage}, region ${view.region}`;
}
