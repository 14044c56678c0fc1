import assert from "node:assert/strict";
import { test } from "node:test";
import { REDACTED, RedactingLogOutputChannel, Redactor } from "../redact";
import { CANARY as KEY, recorder } from "./fakes";

test("redacts every known key, longest first, in plain and JSON-escaped form", () => {
  const r = new Redactor();
  r.add(KEY);
  r.add(`${KEY}-longer`);
  r.add('quote"key\\1234');
  assert.equal(r.redact(`a ${KEY} b`), `a ${REDACTED} b`);
  assert.equal(r.redact(`${KEY}-longer`), REDACTED);
  assert.equal(r.redact(JSON.stringify({ apiKey: 'quote"key\\1234' })), `{"apiKey":"${REDACTED}"}`);
  assert.equal(r.redact("nothing secret"), "nothing secret");
});

test("ignores empty and tiny values", () => {
  const r = new Redactor();
  r.add("");
  r.add(null);
  r.add(undefined);
  r.add("ab");
  assert.equal(r.size, 0);
  assert.equal(r.redact("ab cd"), "ab cd");
});

test("the channel wrapper redacts messages, arguments and errors", () => {
  const r = new Redactor();
  r.add(KEY);
  const { channel, lines } = recorder();
  const log = new RedactingLogOutputChannel(channel, r);
  log.info(`initialize {"apiKey":"${KEY}"}`, { apiKey: KEY });
  log.warn(KEY);
  log.error(new Error(`boom ${KEY}`));
  log.appendLine(`line ${KEY}`);
  log.append(KEY);
  log.replace(KEY);
  const all = lines.join("\n");
  assert.ok(!all.includes(KEY), all);
  assert.ok(all.includes(REDACTED));
  assert.equal(lines.length, 6);
});

test("trace lines are written only when tracing is on, and redacted", () => {
  const r = new Redactor();
  r.add(KEY);
  let enabled = false;
  const { channel, lines } = recorder();
  const log = new RedactingLogOutputChannel(channel, r, {
    enabled: () => enabled,
    onDidChange: () => ({ dispose: () => undefined }),
  });
  log.trace(`Sending request 'initialize - (0)'. Params: {"apiKey":"${KEY}"}`);
  assert.equal(lines.length, 0);
  assert.equal(log.logLevel, 2);
  enabled = true;
  assert.equal(log.logLevel, 1);
  log.trace(`Params: {"apiKey":"${KEY}"}`);
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes(KEY));
});
