// What the Kestrel server sends and how the extension presents it. Pure functions: no runtime
// import of "vscode", so node's test runner can check them.

/** `kestrel/status` params (SPEC, Notices and status). */
export type KestrelState =
  | "ok"
  | "missingKey"
  | "rejectedKey"
  | "quotaExhausted"
  | "rateLimited"
  | "unreachable";

export interface KestrelStatus {
  state: KestrelState | string;
  provider?: string;
  message?: string;
}

export const STATUS_NOTIFICATION = "kestrel/status";

export const MISSING_KEY_PREFIX = "Kestrel: API key is missing or unset for ";
const REJECTED_KEY = /^Kestrel: \S+ rejected your API key\b/;

/** The two notices that get a **Set API Key** button. */
export function offersSetApiKey(message: string): boolean {
  return message.startsWith(MISSING_KEY_PREFIX) || REJECTED_KEY.test(message);
}

export const SET_API_KEY = "Set API Key";

export type Severity = "ok" | "warning" | "error" | "busy";

export interface StatusView {
  text: string;
  severity: Severity;
  /** The command a click runs. */
  command: string;
  tooltip: string;
}

/** How the status bar item shows a server state, and what clicking it does. */
export function statusView(status: KestrelStatus): StatusView {
  const provider = status.provider ? ` (${status.provider})` : "";
  const detail = status.message ? `${status.message}\n\n` : "";
  switch (status.state) {
    case "ok":
      return {
        text: "$(sparkle) Kestrel",
        severity: "ok",
        command: "kestrel.showOutput",
        tooltip: `${detail}Kestrel is ready${provider}. Click to show its output.`,
      };
    case "missingKey":
      return {
        text: "$(key) Kestrel: set API key",
        severity: "warning",
        command: "kestrel.setApiKey",
        tooltip: `${detail}No API key${provider}. Click to set one.`,
      };
    case "rejectedKey":
      return {
        text: "$(error) Kestrel: key rejected",
        severity: "error",
        command: "kestrel.setApiKey",
        tooltip: `${detail}The provider rejected the API key${provider}. Click to set another one.`,
      };
    case "quotaExhausted":
      return {
        text: "$(error) Kestrel: quota exhausted",
        severity: "error",
        command: "kestrel.checkSetup",
        tooltip: `${detail}Click to check the setup.`,
      };
    case "rateLimited":
      return {
        text: "$(watch) Kestrel: rate-limited",
        severity: "warning",
        command: "kestrel.showOutput",
        tooltip: `${detail}The provider is rate-limiting requests. Click to show the output.`,
      };
    case "unreachable":
      return {
        text: "$(debug-disconnect) Kestrel: unreachable",
        severity: "error",
        command: "kestrel.checkSetup",
        tooltip: `${detail}Click to check the setup (proxy, TLS, base URL).`,
      };
    default:
      return {
        text: "$(sparkle) Kestrel",
        severity: "ok",
        command: "kestrel.showOutput",
        tooltip: `${detail}Click to show Kestrel's output.`,
      };
  }
}

/** The SecretStorage key of a provider's API key. */
export function secretKeyName(provider: string): string {
  return `kestrel.apiKey.${provider}`;
}

/**
 * The text of a `kestrel.checkSetup` report for the output channel: the JSON first, then one
 * line per step (last, so they are what a revealed channel shows):
 * `{ok, summary, steps: [{id, title, status: "pass"|"fail"|"skip", detail, fix}], ...}`.
 */
export function formatSetupReport(report: unknown): string {
  const lines: string[] = ["Kestrel: Check Setup report (JSON):", JSON.stringify(report, null, 2) ?? "null", ""];
  lines.push("Kestrel: Check Setup");
  if (report && typeof report === "object" && typeof (report as { summary?: unknown }).summary === "string") {
    lines.push(`  ${(report as { summary: string }).summary}`);
  }
  for (const step of extractSteps(report)) {
    const mark = step.ok === true ? "✓" : step.ok === false ? "✗" : "–";
    const name = String(step.title ?? step.name ?? step.id ?? "step");
    const detail = step.detail ?? step.message ?? step.status ?? "";
    lines.push(`  ${mark} ${name}${detail ? `: ${String(detail)}` : ""}`);
    if (step.ok === false && step.fix) {
      lines.push(`      fix: ${String(step.fix)}`);
    }
  }
  return lines.join("\n");
}

type Step = Record<string, unknown> & { ok?: unknown; fix?: unknown };

function extractSteps(report: unknown): Step[] {
  if (!report || typeof report !== "object") {
    return [];
  }
  const candidate = (report as Record<string, unknown>).steps;
  if (!Array.isArray(candidate)) {
    return [];
  }
  return candidate
    .filter((s): s is Record<string, unknown> => !!s && typeof s === "object")
    .map((s) => {
      const ok = "ok" in s ? s.ok : "passed" in s ? s.passed : statusToOk(s.status);
      return { ...s, ok };
    });
}

function statusToOk(status: unknown): boolean | undefined {
  if (status === "ok" || status === "pass" || status === "passed" || status === "✓") {
    return true;
  }
  if (status === "fail" || status === "failed" || status === "error" || status === "✗") {
    return false;
  }
  return undefined;
}
