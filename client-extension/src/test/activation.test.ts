// The extension's logic on stubs of VS Code and of the server connection (test/fakes.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { activateKestrel } from "../activation";
import { MessageType, SET_API_KEY } from "../protocol";
import { NoInterpreterError } from "../python";
import { REDACTED } from "../redact";
import { EMPTY_KEY_HINT } from "../secrets";
import { activated, CANARY, FakeSecrets, FakeVsCodeApi, PACKAGE } from "./fakes";

const MISSING = "Kestrel: API key is missing or unset for deepseek. Set it with Kestrel: Set API Key.";

test("the server starts with the nested settings and the configured provider's stored key", async () => {
  const k = await activated((api, secrets) => {
    api.user["kestrel.completion.debounceMs"] = 75;
    api.user["kestrel.reasoning"] = "provider";
    api.user["kestrel.actions"] = [{ title: "Explain", instruction: "Explain this code." }];
    secrets.values.set("kestrel.apiKey.deepseek", CANARY);
    secrets.values.set("kestrel.apiKey.mimo", "sk-other-provider-key");
  });
  const options = k.connection.initializationOptions ?? {};
  assert.equal(options.apiKey, CANARY);
  assert.equal(options.provider, "deepseek");
  assert.deepEqual(options.completion, { enabled: true, debounceMs: 75 });
  assert.equal(options.reasoning, "provider");
  assert.deepEqual(options.actions, [{ title: "Explain", instruction: "Explain this code." }]);
  assert.deepEqual(k.connection.launch.args, ["-m", "kestrel_lsp", "--stdio"]);
  assert.ok(String(k.connection.launch.env.PYTHONPATH).startsWith("/nonexistent/kestrel-extension/bundled/libs"));
  // workspace/configuration gets the same object, never the key.
  assert.equal(k.connection.hooks.configuration("kestrel.completion.debounceMs"), 75);
  assert.ok(!("apiKey" in (k.connection.hooks.configuration("kestrel") as object)));
});

test("without a stored key, initializationOptions carry none", async () => {
  const k = await activated();
  assert.ok(!("apiKey" in (k.connection.initializationOptions ?? {})));
});

test("Set API Key stores the key for the configured provider and sends it, no restart", async () => {
  const k = await activated((api) => {
    api.user["kestrel.provider"] = "mimo";
  });
  k.api.typeNext = ` ${CANARY} `;
  await k.api.run("kestrel.setApiKey");
  const [box] = k.api.inputBoxes;
  assert.equal(box.password, true);
  assert.equal(box.validateInput?.("  "), EMPTY_KEY_HINT);
  assert.equal(box.validateInput?.("sk-x"), undefined);
  assert.equal(k.secrets.values.get("kestrel.apiKey.mimo"), CANARY);
  assert.ok(!k.secrets.values.has("kestrel.apiKey.deepseek"));
  assert.deepEqual(k.connection.sent, [{ apiKey: CANARY }]); // once: the store's echo sends nothing
  assert.equal(k.connections.length, 1);
  assert.deepEqual(k.api.toasts, []);
});

test("Escape in the key box changes nothing", async () => {
  const k = await activated();
  k.api.typeNext = undefined;
  await k.api.run("kestrel.setApiKey");
  assert.equal(k.secrets.values.size, 0);
  assert.deepEqual(k.connection.sent, []);
});

test("Clear API Key deletes the provider's key and sends null", async () => {
  const k = await activated((_api, secrets) => secrets.values.set("kestrel.apiKey.deepseek", CANARY));
  await k.api.run("kestrel.clearApiKey");
  assert.equal(k.secrets.values.size, 0);
  assert.deepEqual(k.connection.sent, [{ apiKey: null }]);
  assert.deepEqual(k.api.toasts, [{ severity: "info", message: "Kestrel: API key for deepseek cleared.", buttons: [] }]);
});

test("a provider change sends the settings with the new provider's key, or null", async () => {
  const k = await activated((_api, secrets) => {
    secrets.values.set("kestrel.apiKey.deepseek", CANARY);
    secrets.values.set("kestrel.apiKey.anthropic", "sk-ant-kestrel-test-key");
  });
  await k.api.setUser("kestrel.provider", "anthropic");
  await k.api.setUser("kestrel.provider", "openai");
  const sent = k.connection.sent.map((s) => [s.provider, s.apiKey]);
  assert.deepEqual(sent, [
    ["anthropic", "sk-ant-kestrel-test-key"],
    ["openai", null],
  ]);
  assert.equal(k.connections.length, 1, "no restart");
});

test("other settings are sent without the key; the interpreter restarts the server", async () => {
  const k = await activated((_api, secrets) => secrets.values.set("kestrel.apiKey.deepseek", CANARY));
  await k.api.setUser("kestrel.completion.enabled", false);
  await k.api.setUser("http.proxy", "http://proxy.corp:3128");
  assert.equal(k.connection.sent.length, 2);
  assert.ok(k.connection.sent.every((s) => !("apiKey" in s)));
  assert.deepEqual(k.connection.sent[0].completion, { enabled: false, debounceMs: 150 });
  assert.equal((k.connection.sent[1].http as { proxy: string }).proxy, "http://proxy.corp:3128");

  const first = k.connection;
  await k.api.setUser("kestrel.interpreter", "/usr/bin/python3.12");
  assert.equal(first.state, "stopped");
  assert.equal(k.connections.length, 2);
  assert.equal(k.connection.initializationOptions?.apiKey, CANARY);
});

test("a key set in another window is sent when it is the configured provider's", async () => {
  const k = await activated();
  await k.secrets.store("kestrel.apiKey.openai", "sk-for-another-provider");
  await k.secrets.store("kestrel.apiKey.deepseek", CANARY);
  await k.secrets.delete("kestrel.apiKey.deepseek");
  assert.deepEqual(k.connection.sent, [{ apiKey: CANARY }, { apiKey: null }]);
});

test("an untrusted workspace's baseUrl and http.* do not reach the server until it is trusted", async () => {
  const k = await activated((api) => {
    api.trusted = false;
    api.workspace["kestrel.baseUrl"] = "https://attacker.example/v1";
    api.workspace["kestrel.http.proxy"] = "http://attacker.example:8080";
    api.workspace["kestrel.completion.debounceMs"] = 300; // not restricted: counts
  });
  const options = k.connection.initializationOptions ?? {};
  assert.equal(options.baseUrl, null);
  assert.equal((options.http as { proxy: unknown }).proxy, null);
  assert.deepEqual(options.completion, { enabled: true, debounceMs: 300 });

  k.api.trusted = true;
  await k.api.trustGranted.fire();
  assert.equal(k.connection.sent.length, 1);
  assert.equal(k.connection.sent[0].baseUrl, "https://attacker.example/v1");
});

test("the missing-key notice gets a Set API Key button that runs the command", async () => {
  const k = await activated();
  const { hooks } = k.connection;
  hooks.status({ state: "missingKey", provider: "deepseek", message: MISSING });
  k.api.clickNext = SET_API_KEY;
  hooks.notice(MessageType.Error, MISSING);
  hooks.notice(MessageType.Error, "Kestrel: setting kestrel.model is invalid: expected a string.");
  hooks.notice(MessageType.Warning, "Kestrel: deepseek returned an empty reply, so nothing was applied.");
  hooks.notice(MessageType.Log, "a log line");
  await Promise.resolve(); // the click's then() runs on the next microtask
  assert.deepEqual(
    k.api.toasts.map((t) => [t.severity, t.buttons]),
    [
      ["error", [SET_API_KEY]],
      ["error", []],
      ["warning", []],
    ],
  );
  assert.deepEqual(k.api.executed, ["kestrel.setApiKey"]);
  assert.ok(k.api.log.lines.some((line) => line === "info a log line"));
});

test("the rejected-key notice gets the button too, and a key in a notice is redacted", async () => {
  const k = await activated((_api, secrets) => secrets.values.set("kestrel.apiKey.deepseek", CANARY));
  const rejected = `Kestrel: deepseek rejected your API key (HTTP 401). Gateway said: bad key ${CANARY}`;
  k.connection.hooks.status({ state: "rejectedKey", provider: "deepseek", message: rejected });
  k.connection.hooks.notice(MessageType.Error, rejected);
  const [toast] = k.api.toasts;
  assert.deepEqual(toast.buttons, [SET_API_KEY]);
  assert.ok(!toast.message.includes(CANARY) && toast.message.includes(REDACTED));
  assert.ok(!k.api.log.lines.join("\n").includes(CANARY));
  assert.ok(!(k.api.statusItem.tooltip as string).includes(CANARY));
});

test("the status bar follows kestrel/status and the server's state", async () => {
  const k = await activated();
  const item = k.api.statusItem;
  k.connection.hooks.status({ state: "missingKey", provider: "deepseek", message: MISSING });
  assert.equal(item.text, "$(key) Kestrel: set API key");
  assert.equal(item.command, "kestrel.setApiKey");
  assert.deepEqual(item.backgroundColor, { id: "statusBarItem.warningBackground" });
  k.connection.hooks.status({ state: "ok", provider: "deepseek", message: "Kestrel: ready (deepseek)." });
  assert.equal(item.text, "$(sparkle) Kestrel");
  assert.equal(item.backgroundColor, undefined);
  k.connection.hooks.stateChanged("stopped");
  assert.equal(item.text, "$(error) Kestrel: not running");
  // No status while stopped: a later notice gets no button from a stale state.
  k.connection.hooks.notice(MessageType.Error, MISSING);
  assert.deepEqual(k.api.toasts[0].buttons, []);
});

test("Check Setup's result is written to the output channel with the server's text", async () => {
  const k = await activated();
  const text = "Kestrel: setup check passed (deepseek, 12 ms).\n✓ Settings valid: fine.";
  k.connection.hooks.commandResult("kestrel.checkSetup", { ok: true, steps: [], text });
  const written = k.api.log.lines.join("\n");
  assert.ok(written.includes("Kestrel: Check Setup\n  Kestrel: setup check passed (deepseek, 12 ms).\n  ✓ Settings valid: fine."));
  assert.equal(k.api.log.shown.length, 1);
  k.connection.hooks.commandResult("kestrel.applyAction", null);
  assert.equal(k.api.log.shown.length, 1, "other commands' results are not shown");
});

test("no usable Python: an error with Show Output, and the status bar says so", async () => {
  const api = new FakeVsCodeApi();
  const kestrel = activateKestrel({
    api,
    secrets: new FakeSecrets(),
    extensionPath: "/nonexistent",
    env: {},
    connect: () => assert.fail("no server without Python"),
    findInterpreter: () => Promise.reject(new NoInterpreterError("Kestrel needs Python 3.10 or newer.")),
  });
  api.clickNext = "Show Output";
  await kestrel.server.start();
  assert.deepEqual(api.toasts, [{ severity: "error", message: "Kestrel needs Python 3.10 or newer.", buttons: ["Show Output"] }]);
  assert.equal(api.statusItem.text, "$(error) Kestrel: not running");
  await Promise.resolve();
  assert.equal(api.log.shown.length, 1, "Show Output shows the output");
});

test("the extension registers its own commands, never the server's", async () => {
  const k = await activated();
  const contributed = (PACKAGE as unknown as { contributes: { commands: { command: string }[] } }).contributes.commands.map(
    (c) => c.command,
  );
  assert.deepEqual([...k.api.commands.keys()].sort(), contributed.filter((c) => c !== "kestrel.checkSetup").sort());
});
