// The `kestrel` settings object the server receives: nested camelCase, never an API key.
// Which settings there are, their defaults and the providers come from the server itself
// (src/generated/server.ts, written by scripts/generate_settings.py).
import {
  DEFAULT_PROVIDER,
  ENVIRONMENT,
  type KestrelServerSettings,
  PRESETS,
  type ProviderId,
  SERVER_SETTINGS,
  type SettingSpec,
} from "./generated/server";
import type { ConfigReader } from "./vscodeapi";

export type { KestrelServerSettings } from "./generated/server";

/** Environment variables the server reads too (defaults < environment < client). */
export type Env = Record<string, string | undefined>;

/** Settings whose change needs a server restart rather than a didChangeConfiguration. */
export const RESTART_SETTINGS = ["kestrel.interpreter"];

/**
 * The provider in effect: `kestrel.provider` when the user set it, else the server's environment
 * variable for it (the server gets the same environment), else the server's default. The key is
 * looked up for this one.
 */
export function effectiveProvider(kestrel: ConfigReader, env: Env = {}): string {
  const info = kestrel.inspect?.<string>("provider");
  const explicit =
    info !== undefined &&
    [info.globalValue, info.workspaceValue, info.workspaceFolderValue].some((v) => v !== undefined);
  const fromEnv = env[ENVIRONMENT.provider]?.trim();
  if (!explicit && fromEnv) {
    return fromEnv;
  }
  return text(kestrel, "provider") ?? DEFAULT_PROVIDER;
}

/** The provider's default base URL, if it has one. */
export function defaultBaseUrl(provider: string): string | null {
  return Object.hasOwn(PRESETS, provider) ? PRESETS[provider as ProviderId].baseUrl : null;
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
 * One setting as the extension passes it: a "text" is trimmed and empty means unset (null, so
 * the server applies its environment variable or default); a "list" drops blank entries; any
 * other value goes as the user wrote it, so the server can name a wrongly typed key in its
 * notice (a wrong type is one error notice, never a crash).
 */
function read(config: ConfigReader, spec: SettingSpec): unknown {
  switch (spec.kind) {
    case "text":
      return text(config, spec.key);
    case "list":
      return list(config, spec.key);
    default: {
      const value = config.get<unknown>(spec.key);
      return value === undefined || value === null ? spec.default : value;
    }
  }
}

/** Set `value` at a dotted `key` ("completion.debounceMs") of a nested object. */
function place(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!node[part] || typeof node[part] !== "object") {
      node[part] = {};
    }
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
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
 * Build the server's `kestrel` object: every setting the server reads, VS Code's dotted names
 * (`kestrel.completion.enabled`) as the nested object (`{completion: {enabled}}`).
 * `kestrel` is `workspace.getConfiguration("kestrel")` (VS Code already drops workspace values of
 * restricted settings in an untrusted workspace); `http` is `workspace.getConfiguration("http")`.
 * VS Code's `http.proxy` and `http.noProxy` fill in `kestrel.http.proxy`/`noProxy` when those are
 * unset; with `http.proxyStrictSSL: false` and `kestrel.http.insecureHosts` unset, the provider's
 * base URL host is not TLS-verified (what VS Code itself does for its own requests).
 */
export function readServerSettings(kestrel: ConfigReader, http?: ConfigReader, env: Env = {}): KestrelServerSettings {
  const settings: Record<string, unknown> = {};
  for (const spec of SERVER_SETTINGS) {
    place(settings, spec.key, read(kestrel, spec));
  }
  const result = settings as unknown as KestrelServerSettings;
  result.provider = effectiveProvider(kestrel, env);
  if (http) {
    fillFromVsCodeHttp(result, http, env);
  }
  return result;
}

function fillFromVsCodeHttp(settings: KestrelServerSettings, http: ConfigReader, env: Env): void {
  const own = settings.http;
  if (own.proxy === null) {
    own.proxy = text(http, "proxy");
  }
  if (own.noProxy.length === 0) {
    own.noProxy = list(http, "noProxy");
  }
  if (own.insecureHosts.length === 0 && http.get<unknown>("proxyStrictSSL") === false) {
    const host = hostOf(settings.baseUrl ?? env[ENVIRONMENT.baseUrl] ?? defaultBaseUrl(settings.provider));
    if (host) {
      own.insecureHosts = [host];
    }
  }
}

/** Whether `workspace/configuration` asks for one of ours: "kestrel" or "kestrel.x.y". */
export function isKestrelSection(section: string | undefined): section is string {
  return section === "kestrel" || section?.startsWith("kestrel.") === true;
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
