import assert from "node:assert/strict";
import { test } from "node:test";
import { PRESETS, PROVIDERS, SERVER_SETTINGS } from "../generated/server";
import { configurationSection, readServerSettings } from "../settings";
import { PACKAGE } from "./fakes";

function reader(values: Record<string, unknown>) {
  return { get: <T>(key: string) => values[key] as T };
}

test("VS Code's dotted settings reach the server nested, unset strings as null, never a key", () => {
  const s = readServerSettings(
    reader({
      provider: "openai-compatible",
      baseUrl: " http://127.0.0.1:9999/v1 ",
      model: "",
      reasoning: "provider",
      actions: [{ title: "Add types", instruction: "Add type hints.", when: "selection" }],
      "completion.enabled": false,
      "completion.debounceMs": 75,
      "retry.maxAuthRetries": 3,
      "http.noProxy": ["corp.internal", " "],
    }),
  );
  assert.equal(s.provider, "openai-compatible");
  assert.equal(s.baseUrl, "http://127.0.0.1:9999/v1");
  assert.equal(s.model, null);
  assert.equal(s.reasoning, "provider");
  assert.deepEqual(s.actions, [{ title: "Add types", instruction: "Add type hints.", when: "selection" }]);
  assert.deepEqual(s.completion, { enabled: false, debounceMs: 75 });
  assert.deepEqual(s.retry, { maxRetries: 2, maxAuthRetries: 3, initialDelayMs: 500, maxDelayMs: 8000 });
  assert.deepEqual(s.http.noProxy, ["corp.internal"]);
  assert.ok(!("apiKey" in s));
  assert.equal(configurationSection(s, "kestrel.completion.debounceMs"), 75);
  assert.equal(configurationSection(s, "kestrel.apiKey"), null);
});

test("a wrongly typed value goes through as written, so the server can name the key", () => {
  const s = readServerSettings(reader({ "completion.debounceMs": "soon", actions: "none" }));
  assert.equal(s.completion.debounceMs, "soon");
  assert.equal(s.actions, "none");
});

test("VS Code's http.* settings fill in unset kestrel.http.* ones", () => {
  const http = reader({ proxy: "http://proxy.corp:3128", noProxy: ["a.corp"], proxyStrictSSL: false });
  const s = readServerSettings(reader({ provider: "deepseek" }), http);
  assert.equal(s.http.proxy, "http://proxy.corp:3128");
  assert.deepEqual(s.http.noProxy, ["a.corp"]);
  assert.deepEqual(s.http.insecureHosts, [new URL(PRESETS.deepseek.baseUrl ?? "").hostname]);
  const own = readServerSettings(
    reader({ "http.proxy": "http://mine:1", "http.insecureHosts": ["x.corp"], baseUrl: "https://gw.corp/v1" }),
    http,
  );
  assert.equal(own.http.proxy, "http://mine:1");
  assert.deepEqual(own.http.insecureHosts, ["x.corp"]);
  const gateway = readServerSettings(reader({ baseUrl: "https://gw.corp/v1" }), reader({ proxyStrictSSL: false }));
  assert.deepEqual(gateway.http.insecureHosts, ["gw.corp"]);
  const strict = readServerSettings(reader({}), reader({ proxyStrictSSL: true }));
  assert.deepEqual(strict.http.insecureHosts, []);
});

test("the provider comes from the setting, else KESTREL_PROVIDER, else the server's default", () => {
  const unset = {
    get: <T>() => "deepseek" as T,
    inspect: <T>() => ({ key: "kestrel.provider", defaultValue: "deepseek" as T }),
  };
  const set = {
    get: <T>() => "mimo" as T,
    inspect: <T>() => ({ key: "kestrel.provider", defaultValue: "deepseek" as T, globalValue: "mimo" as T }),
  };
  assert.equal(readServerSettings(unset, undefined, { KESTREL_PROVIDER: "openai" }).provider, "openai");
  assert.equal(readServerSettings(unset, undefined, {}).provider, "deepseek");
  assert.equal(readServerSettings(set, undefined, { KESTREL_PROVIDER: "openai" }).provider, "mimo");
  assert.equal(readServerSettings(reader({}), undefined, {}).provider, PROVIDERS[0]);
});

test("package.json contributes every setting the extension sends, with the same default", () => {
  const contributed = PACKAGE.contributes.configuration.properties;
  for (const spec of SERVER_SETTINGS) {
    const schema = contributed[`kestrel.${spec.key}`];
    assert.ok(schema, `kestrel.${spec.key} is not contributed`);
    assert.deepEqual(schema.default, spec.default, `kestrel.${spec.key}`);
  }
  assert.deepEqual(contributed["kestrel.provider"].enum, [...PROVIDERS]);
  assert.ok(!("kestrel.apiKey" in contributed), "the key lives in SecretStorage only");
});

test("the settings editor validates kestrel.reasoning and kestrel.actions", () => {
  const contributed = PACKAGE.contributes.configuration.properties;
  assert.deepEqual(contributed["kestrel.reasoning"].enum, ["off", "provider"]);
  const actions = contributed["kestrel.actions"] as {
    type: string;
    maxItems: number;
    items: { required: string[]; properties: Record<string, { type: string; enum?: string[]; default?: string }> };
  };
  assert.equal(actions.type, "array");
  assert.equal(actions.maxItems, 20);
  assert.deepEqual(actions.items.required, ["title", "instruction"]);
  assert.equal(actions.items.properties.title.type, "string");
  assert.equal(actions.items.properties.instruction.type, "string");
  assert.deepEqual(actions.items.properties.when.enum, ["always", "selection", "diagnostics"]);
  assert.equal(actions.items.properties.when.default, "always");
});

test("settings that choose where the key goes or what runs are restricted in untrusted workspaces", () => {
  const restricted = PACKAGE.capabilities.untrustedWorkspaces.restrictedConfigurations;
  const needed = Object.keys(PACKAGE.contributes.configuration.properties).filter(
    (name) => name === "kestrel.baseUrl" || name === "kestrel.interpreter" || name.startsWith("kestrel.http."),
  );
  assert.equal(needed.length, 6);
  assert.deepEqual([...restricted].sort(), needed.sort());
});
