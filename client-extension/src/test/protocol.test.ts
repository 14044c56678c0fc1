import assert from "node:assert/strict";
import { test } from "node:test";
import { configurationSection, readServerSettings } from "../settings";
import { formatSetupReport, offersSetApiKey, secretKeyName, statusView } from "../protocol";

test("Set API Key is offered for the missing-key and rejected-key notices only", () => {
  assert.ok(offersSetApiKey("Kestrel: API key is missing or unset for deepseek. Run Kestrel: Set API Key."));
  assert.ok(offersSetApiKey("Kestrel: openai-compatible rejected your API key (HTTP 401). Check that the key is correct and active."));
  assert.ok(
    offersSetApiKey(
      "Kestrel: mimo rejected your API key (HTTP 401) — it worked earlier in this session, so this may be a transient auth/quota issue; retried 2 times with backoff and still failed. Try again shortly.",
    ),
  );
  assert.ok(!offersSetApiKey("Kestrel: deepseek is rate-limiting requests (HTTP 429); retried 2 times."));
  assert.ok(!offersSetApiKey("Kestrel: cannot reach deepseek at https://api.deepseek.com: DNS lookup failed."));
});

test("status states map to a text and a fitting click action", () => {
  assert.equal(statusView({ state: "missingKey", provider: "deepseek" }).command, "kestrel.setApiKey");
  assert.equal(statusView({ state: "rejectedKey" }).command, "kestrel.setApiKey");
  assert.equal(statusView({ state: "unreachable" }).command, "kestrel.checkSetup");
  assert.equal(statusView({ state: "ok" }).severity, "ok");
  assert.equal(statusView({ state: "something-new" }).command, "kestrel.showOutput");
  assert.equal(secretKeyName("mimo"), "kestrel.apiKey.mimo");
});

function reader(values: Record<string, unknown>) {
  return { get: <T>(key: string) => values[key] as T };
}

test("settings are nested camelCase, unset strings are null, and there is no key", () => {
  const s = readServerSettings(
    reader({
      provider: "openai-compatible",
      baseUrl: "http://127.0.0.1:9999/v1",
      model: "",
      "completion.enabled": false,
      "completion.debounceMs": 75,
      "retry.maxAuthRetries": 3,
      "http.noProxy": ["corp.internal"],
    }),
  );
  assert.equal(s.provider, "openai-compatible");
  assert.equal(s.baseUrl, "http://127.0.0.1:9999/v1");
  assert.equal(s.model, null);
  assert.deepEqual(s.completion, { enabled: false, debounceMs: 75 });
  assert.equal(s.retry.maxAuthRetries, 3);
  assert.equal(s.retry.maxRetries, 2);
  assert.deepEqual(s.http.noProxy, ["corp.internal"]);
  assert.ok(!("apiKey" in s));
  assert.equal(configurationSection(s, "kestrel.completion.debounceMs"), 75);
  assert.equal(configurationSection(s, "kestrel.apiKey"), null);
});

test("VS Code's http.* settings fill in unset kestrel.http.* ones", () => {
  const http = reader({ proxy: "http://proxy.corp:3128", noProxy: ["a.corp"], proxyStrictSSL: false });
  const s = readServerSettings(reader({ provider: "deepseek" }), http);
  assert.equal(s.http.proxy, "http://proxy.corp:3128");
  assert.deepEqual(s.http.noProxy, ["a.corp"]);
  assert.deepEqual(s.http.insecureHosts, ["api.deepseek.com"]);
  const own = readServerSettings(
    reader({ "http.proxy": "http://mine:1", "http.insecureHosts": ["x.corp"], baseUrl: "https://gw.corp/v1" }),
    http,
  );
  assert.equal(own.http.proxy, "http://mine:1");
  assert.deepEqual(own.http.insecureHosts, ["x.corp"]);
  const strict = readServerSettings(reader({}), reader({ proxyStrictSSL: true }));
  assert.deepEqual(strict.http.insecureHosts, []);
});

test("a setup report is shown step by step with its JSON", () => {
  const text = formatSetupReport({
    ok: false,
    summary: "Kestrel: setup check failed at API key present.",
    steps: [
      { id: "settings", title: "Settings valid", status: "pass", detail: "All settings are valid.", fix: null },
      { id: "key", title: "API key present", status: "fail", detail: "no key", fix: "Run Kestrel: Set API Key." },
      { id: "reachable", title: "Base URL reachable", status: "skip", detail: "Skipped.", fix: null },
    ],
  });
  assert.match(text, /setup check failed/);
  assert.match(text, /✓ Settings valid: All settings are valid\./);
  assert.match(text, /✗ API key present: no key/);
  assert.match(text, /– Base URL reachable/);
  assert.match(text, /fix: Run Kestrel: Set API Key\./);
  assert.match(text, /"steps"/);
});

test("the provider comes from the setting, else KESTREL_PROVIDER, else deepseek", () => {
  const unset = {
    get: <T>(_key: string) => "deepseek" as T,
    inspect: <T>(_key: string) => ({ key: "kestrel.provider", defaultValue: "deepseek" as T }),
  };
  const set = {
    get: <T>(_key: string) => "mimo" as T,
    inspect: <T>(_key: string) => ({ key: "kestrel.provider", defaultValue: "deepseek" as T, globalValue: "mimo" as T }),
  };
  assert.equal(readServerSettings(unset, undefined, { KESTREL_PROVIDER: "openai" }).provider, "openai");
  assert.equal(readServerSettings(unset, undefined, {}).provider, "deepseek");
  assert.equal(readServerSettings(set, undefined, { KESTREL_PROVIDER: "openai" }).provider, "mimo");
});
