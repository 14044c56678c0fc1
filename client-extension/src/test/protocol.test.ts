import assert from "node:assert/strict";
import { test } from "node:test";
import { offersSetApiKey, secretKeyName, setupReportText, statusView } from "../protocol";

const MISSING = "Kestrel: API key is missing or unset for deepseek. Set it with Kestrel: Set API Key.";
const REJECTED = "Kestrel: mimo rejected your API key (HTTP 401). Check that the key is correct and active.";

test("Set API Key is offered for the notice the missing-key or rejected-key status announced", () => {
  assert.ok(offersSetApiKey(MISSING, { state: "missingKey", provider: "deepseek", message: MISSING }));
  assert.ok(offersSetApiKey(REJECTED, { state: "rejectedKey", provider: "mimo", message: REJECTED }));
  // Another notice while the key is missing (a settings error), or the same text in another state.
  const settingsError = "Kestrel: setting kestrel.completion.debounceMs is invalid: expected an integer.";
  assert.ok(!offersSetApiKey(settingsError, { state: "missingKey", message: MISSING }));
  assert.ok(!offersSetApiKey(REJECTED, { state: "unreachable", message: REJECTED }));
  assert.ok(!offersSetApiKey(MISSING, undefined));
});

test("status states map to a text and a fitting click action", () => {
  assert.equal(statusView({ state: "missingKey", provider: "deepseek" }).command, "kestrel.setApiKey");
  assert.equal(statusView({ state: "rejectedKey" }).command, "kestrel.setApiKey");
  assert.equal(statusView({ state: "unreachable" }).command, "kestrel.checkSetup");
  assert.equal(statusView({ state: "ok" }).severity, "ok");
  assert.equal(statusView({ state: "something-new" }).command, "kestrel.showOutput");
  assert.equal(secretKeyName("mimo"), "kestrel.apiKey.mimo");
});

test("the setup report is shown as the server rendered it, after its JSON", () => {
  const text = "Kestrel: setup check failed at API key present: no key. Fix: Set one.\n✓ Settings valid: fine.\n✗ API key present: no key. Fix: Set one.";
  const shown = setupReportText({ ok: false, summary: "s", steps: [{ id: "key", status: "fail" }], text });
  const [json, rendered] = shown.split("\nKestrel: Check Setup\n");
  assert.match(json, /^Kestrel: Check Setup report \(JSON\):\n/);
  assert.match(json, /"status": "fail"/);
  assert.ok(!json.includes("✗"), "the text is not repeated inside the JSON");
  assert.equal(rendered, text.split("\n").map((line) => `  ${line}`).join("\n"));
});

test("a report without text is shown as its JSON, not guessed at", () => {
  const shown = setupReportText({ steps: [{ name: "x", passed: true }] });
  assert.match(shown, /"passed": true/);
  assert.ok(!shown.includes("✓"));
  assert.match(shown, /carries no text/);
});
