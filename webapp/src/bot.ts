// The deploy bot's status server: what became of each executed proposal (/deployments) and the
// operator's policy verdict on a spec (/policy). Everything it returns is data to show as text;
// anything not of the expected shape is dropped.

export interface Deployment {
  proposalId: string;
  /** "deploy", "update" or "close", when the bot says (newer bots do). */
  kind: string | null;
  /** The proposal whose instance an update or close acts on, when the bot says. */
  targetId: string | null;
  state: string;
  reason: string | null;
  instanceId: string | null;
  deploymentStatus: string | null;
  urls: string[];
  updatedAt: string | null;
}

export interface PolicyVerdict {
  /** The policy's limits, as the bot publishes them (shown as key: value text). */
  policy: Record<string, unknown>;
  /** Every way the spec breaks the policy; empty if it complies. */
  violations: string[];
}

const TIMEOUT_MS = 5000;

function optionalText(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), cache: "no-store" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

/** The bot's ledger rows by proposal id. */
export async function fetchDeployments(botUrl: string): Promise<Map<string, Deployment>> {
  const rows = await getJson(`${botUrl}/deployments`);
  const result = new Map<string, Deployment>();
  if (!Array.isArray(rows)) return result;
  for (const row of rows as Record<string, unknown>[]) {
    if (row === null || typeof row !== "object") continue;
    const id = row["proposal_id"];
    if (typeof id !== "number" && typeof id !== "string") continue;
    const target = row["target_id"];
    result.set(String(id), {
      proposalId: String(id),
      kind: optionalText(row["kind"]),
      targetId: typeof target === "number" || typeof target === "string" ? String(target) : null,
      state: optionalText(row["state"]) ?? "UNKNOWN",
      reason: optionalText(row["reason"]),
      instanceId: optionalText(row["instance_id"]),
      deploymentStatus: optionalText(row["deployment_status"]),
      urls: Array.isArray(row["urls"]) ? (row["urls"] as unknown[]).filter((u): u is string => typeof u === "string") : [],
      updatedAt: optionalText(row["updated_at"]),
    });
  }
  return result;
}

/** The operator's policy and its verdict on `specJson` (a spec that passed the rules). */
export async function fetchPolicyVerdict(botUrl: string, specJson: string): Promise<PolicyVerdict | null> {
  const data = (await getJson(`${botUrl}/policy?spec=${encodeURIComponent(specJson)}`)) as Record<string, unknown>;
  if (data === null || typeof data !== "object") return null;
  const violations = data["violations"];
  const policy = data["policy"];
  return {
    policy: policy !== null && typeof policy === "object" ? (policy as Record<string, unknown>) : {},
    violations: Array.isArray(violations) ? violations.filter((v): v is string => typeof v === "string") : [],
  };
}
