// The `kestrel` settings object the server receives: nested camelCase, never an API key.
// Only type imports from "vscode": the readers are passed in, so tests can fake them.
import type { WorkspaceConfiguration } from "vscode";

export const PROVIDERS = [
  "deepseek",
  "openai",
  "anthropic",
  "mimo",
  "minimax",
  "ollama",
  "openai-compatible",
] as const;

/** Default base URLs (SPEC, provider presets); used only to name the host for proxyStrictSSL. */
export const DEFAULT_BASE_URLS: Record<string, string> = {
  deepseek: "https://api.deepseek.com",
  mimo: "https://api.xiaomimimo.com/v1",
  minimax: "https://api.minimax.io/v1",
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
  ollama: "http://127.0.0.1:11434/v1",
};

export interface KestrelServerSettings {
  provider: string;
  baseUrl: string | null;
  model: string | null;
  completion: { enabled: boolean; debounceMs: number };
  retry: {
    maxRetries: number;
    maxAuthRetries: number;
    initialDelayMs: number;
    maxDelayMs: number;
  };
  requestTimeoutMs: number;
  http: {
    proxy: string | null;
    noProxy: string[];
    caCerts: string | null;
    insecureHosts: string[];
  };
}

/** The few calls this module makes on a WorkspaceConfiguration. */
export type ConfigReader = Pick<WorkspaceConfiguration, "get"> & Partial<Pick<WorkspaceConfiguration, "inspect">>;

/** Environment variables the server reads too (SPEC: defaults < environment < client). */
export type Env = Record<string, string | undefined>;

/**
 * The provider in effect: `kestrel.provider` when the user set it, else `KESTREL_PROVIDER` from
 * the environment the server also gets, else the default. The key is looked up for this one.
 */
export function effectiveProvider(kestrel: ConfigReader, env: Env = {}): string {
  const info = kestrel.inspect?.<string>("provider");
  const explicit =
    info !== undefined &&
    [info.globalValue, info.workspaceValue, info.workspaceFolderValue].some((v) => v !== undefined);
  const fromEnv = env.KESTREL_PROVIDER?.trim();
  if (!explicit && fromEnv) {
    return fromEnv;
  }
  return text(kestrel, "provider") ?? "deepseek";
}

function text(config: ConfigReader, key: string): string | null {
  const value = config.get<unknown>(key);
  if (typeof value !== "string") {
    return null;
  }
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}

function list(config: ConfigReader, key: string): string[] {
  const value = config.get<unknown>(key);
  if (!Array.isArray(value)) {
    return [];
  }
  return value.filter((v): v is string => typeof v === "string" && v.trim() !== "").map((v) => v.trim());
}

/**
 * A value as the user wrote it: a wrong type is passed through unchanged so the server can name
 * the key in its notice (SPEC: a wrong type is one error notice, never a crash).
 */
function raw<T>(config: ConfigReader, key: string, fallback: T): T {
  const value = config.get<T>(key);
  return value === undefined || value === null ? fallback : value;
}

/** The host of a URL, or null. */
export function hostOf(url: string | null | undefined): string | null {
  if (!url) {
    return null;
  }
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1") || null;
  } catch {
    return null;
  }
}

/**
 * Build the server's `kestrel` object. `provider` is always sent (see effectiveProvider);
 * `baseUrl`, `model`, `http.proxy` and `http.caCerts` are null when unset.
 * `kestrel` is `workspace.getConfiguration("kestrel")` (VS Code already drops workspace values of
 * restricted settings in an untrusted workspace); `http` is `workspace.getConfiguration("http")`.
 * VS Code's `http.proxy` and `http.noProxy` fill in `kestrel.http.proxy`/`noProxy` when those are
 * unset; with `http.proxyStrictSSL: false` and `kestrel.http.insecureHosts` unset, the provider's
 * base URL host is not TLS-verified (what VS Code itself does for its own requests).
 */
export function readServerSettings(kestrel: ConfigReader, http?: ConfigReader, env: Env = {}): KestrelServerSettings {
  const provider = effectiveProvider(kestrel, env);
  // Unset: null, so the server applies KESTREL_BASE_URL / KESTREL_MODEL or the provider's default.
  const baseUrl = text(kestrel, "baseUrl");

  let proxy = text(kestrel, "http.proxy");
  let noProxy = list(kestrel, "http.noProxy");
  let insecureHosts = list(kestrel, "http.insecureHosts");
  if (http) {
    if (proxy === null) {
      proxy = text(http, "proxy");
    }
    if (noProxy.length === 0) {
      noProxy = list(http, "noProxy");
    }
    if (insecureHosts.length === 0 && http.get<unknown>("proxyStrictSSL") === false) {
      const host = hostOf(baseUrl ?? env.KESTREL_BASE_URL ?? DEFAULT_BASE_URLS[provider]);
      if (host) {
        insecureHosts = [host];
      }
    }
  }

  return {
    provider,
    baseUrl,
    model: text(kestrel, "model"),
    completion: {
      enabled: raw(kestrel, "completion.enabled", true),
      debounceMs: raw(kestrel, "completion.debounceMs", 150),
    },
    retry: {
      maxRetries: raw(kestrel, "retry.maxRetries", 2),
      maxAuthRetries: raw(kestrel, "retry.maxAuthRetries", 2),
      initialDelayMs: raw(kestrel, "retry.initialDelayMs", 500),
      maxDelayMs: raw(kestrel, "retry.maxDelayMs", 8000),
    },
    requestTimeoutMs: raw(kestrel, "requestTimeoutMs", 30000),
    http: {
      proxy,
      noProxy,
      caCerts: text(kestrel, "http.caCerts"),
      insecureHosts,
    },
  };
}

/** The value `workspace/configuration` answers for `section` ("kestrel" or "kestrel.x.y"). */
export function configurationSection(settings: KestrelServerSettings, section: string): unknown {
  if (section === "kestrel") {
    return settings;
  }
  let node: unknown = settings;
  for (const part of section.slice("kestrel.".length).split(".")) {
    if (!node || typeof node !== "object" || !(part in node)) {
      return null;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node ?? null;
}

/** Settings whose change needs a server restart rather than a didChangeConfiguration. */
export const RESTART_SETTINGS = ["kestrel.interpreter"];
