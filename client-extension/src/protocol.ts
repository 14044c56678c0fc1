// What the Kestrel server sends and how the extension presents it. Pure functions: no runtime
// import of "vscode", so node's test runner can check them.

/** `kestrel/status` params (SPEC, Notices and status). */
export type KestrelState = "ok" | "missingKey" | "rejectedKey" | "quotaExhausted" | "rateLimited" | "unreachable";

export interface KestrelStatus {
  /** A KestrelState, or a state a newer server knows. */
  state: string;
  provider?: string;
  message?: string;
}

export const STATUS_NOTIFICATION = "kestrel/status";

/** `window/showMessage` types (LSP `MessageType`). */
export const MessageType = { Error: 1, Warning: 2, Info: 3, Log: 4, Debug: 5 } as const;

export const SET_API_KEY = "Set API Key";

/** The states whose notice gets a **Set API Key** button. */
const KEY_STATES: ReadonlySet<string> = new Set<KestrelState>(["missingKey", "rejectedKey"]);

/**
 * Whether a notice gets the **Set API Key** button: it is the notice of a missing or rejected
 * key. The server sends `kestrel/status` (state and that notice's text) before the notice itself,
 * so `status` is the latest status when the notice arrives; a different notice shown while the
 * key is missing (a settings error, say) gets no button.
 */
export function offersSetApiKey(message: string, status: KestrelStatus | undefined): boolean {
  return status !== undefined && KEY_STATES.has(status.state) && status.message === message;
}

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
 * The output channel's text for a `kestrel.checkSetup` result: the JSON report, then the text the
 * server rendered for people (its `text` field: the summary and one ✓/✗/– line per step), last so
 * it is what a revealed channel shows.
 */
export function setupReportText(report: unknown): string {
  const rendered =
    report && typeof report === "object" && typeof (report as { text?: unknown }).text === "string"
      ? (report as { text: string }).text
      : undefined;
  const json = rendered === undefined ? report : { ...(report as object), text: undefined };
  const lines = ["Kestrel: Check Setup report (JSON):", JSON.stringify(json, null, 2) ?? "null", ""];
  lines.push("Kestrel: Check Setup");
  lines.push(
    ...(rendered ?? "The server's report carries no text; the JSON above is all of it.")
      .split("\n")
      .map((line) => `  ${line}`),
  );
  return lines.join("\n");
}
