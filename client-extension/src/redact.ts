// Redaction of API keys from everything the extension writes: the output channel and the LSP
// trace (which carries `initialize` params, including initializationOptions.apiKey).
// No runtime import of "vscode" here, so node's test runner can load this module.
import type { Event, LogLevel, LogOutputChannel, ViewColumn } from "vscode";

export const REDACTED = "[REDACTED]";

/** Shortest value treated as a secret; shorter strings would redact ordinary words. */
const MIN_SECRET_LENGTH = 4;

/** The set of secrets seen in this session (every key the user stored or we sent). */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | null | undefined): void {
    if (typeof secret !== "string") {
      return;
    }
    const trimmed = secret.trim();
    if (trimmed.length < MIN_SECRET_LENGTH) {
      return;
    }
    this.secrets.add(trimmed);
    // The same key as it appears inside a JSON string (trace lines are JSON).
    const escaped = JSON.stringify(trimmed).slice(1, -1);
    if (escaped !== trimmed) {
      this.secrets.add(escaped);
    }
  }

  get size(): number {
    return this.secrets.size;
  }

  redact(text: string): string {
    if (this.secrets.size === 0 || !text) {
      return text;
    }
    // Longest first, so a key that contains another key is replaced whole.
    const ordered = [...this.secrets].sort((a, b) => b.length - a.length);
    let out = text;
    for (const secret of ordered) {
      if (out.includes(secret)) {
        out = out.split(secret).join(REDACTED);
      }
    }
    return out;
  }

  /** Redact anything a logger might be handed: strings, errors, objects. */
  redactValue(value: unknown): string {
    if (typeof value === "string") {
      return this.redact(value);
    }
    if (value instanceof Error) {
      return this.redact(value.stack ?? `${value.name}: ${value.message}`);
    }
    try {
      return this.redact(JSON.stringify(value) ?? String(value));
    } catch {
      return this.redact(String(value));
    }
  }
}

/** vscode.LogLevel.Trace (a const enum value; no runtime import of "vscode" here). */
export const LOG_LEVEL_TRACE = 1 as LogLevel;

export interface TraceOverride {
  /** True when `kestrel.trace.server` asks for a trace, whatever the channel's own level. */
  enabled(): boolean;
  /** Fired when that setting changes, so vscode-languageclient re-reads `logLevel`. */
  onDidChange: Event<LogLevel>;
}

/**
 * A LogOutputChannel that redacts every secret known to `redactor` before writing to `inner`.
 * vscode-languageclient 11 uses its output and trace channels as LogOutputChannels (`.trace()`,
 * `.error()`, `.logLevel`), so the wrapper implements the whole interface.
 */
export class RedactingLogOutputChannel implements LogOutputChannel {
  constructor(
    private readonly inner: LogOutputChannel,
    private readonly redactor: Redactor,
    private readonly traceOverride?: TraceOverride,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get logLevel(): LogLevel {
    if (this.traceOverride?.enabled()) {
      return LOG_LEVEL_TRACE;
    }
    return this.inner.logLevel;
  }

  get onDidChangeLogLevel(): Event<LogLevel> {
    const inner = this.inner.onDidChangeLogLevel;
    const override = this.traceOverride?.onDidChange;
    if (!override) {
      return inner;
    }
    return (listener, thisArgs, disposables) => {
      const a = inner(listener, thisArgs, disposables);
      const b = override(listener, thisArgs, disposables);
      return {
        dispose: () => {
          a.dispose();
          b.dispose();
        },
      };
    };
  }

  private r(message: string): string {
    return this.redactor.redact(message);
  }

  private args(args: unknown[]): string[] {
    return args.map((a) => this.redactor.redactValue(a));
  }

  trace(message: string, ...args: unknown[]): void {
    if (this.inner.logLevel === LOG_LEVEL_TRACE) {
      this.inner.trace(this.r(message), ...this.args(args));
    } else if (this.traceOverride?.enabled()) {
      // The channel's own level hides trace lines; `kestrel.trace.server` asked for them.
      this.inner.info(`[trace] ${this.r(message)}`, ...this.args(args));
    }
  }

  debug(message: string, ...args: unknown[]): void {
    this.inner.debug(this.r(message), ...this.args(args));
  }

  info(message: string, ...args: unknown[]): void {
    this.inner.info(this.r(message), ...this.args(args));
  }

  warn(message: string, ...args: unknown[]): void {
    this.inner.warn(this.r(message), ...this.args(args));
  }

  error(error: string | Error, ...args: unknown[]): void {
    this.inner.error(this.redactor.redactValue(error), ...this.args(args));
  }

  append(value: string): void {
    this.inner.append(this.r(value));
  }

  appendLine(value: string): void {
    this.inner.appendLine(this.r(value));
  }

  replace(value: string): void {
    this.inner.replace(this.r(value));
  }

  clear(): void {
    this.inner.clear();
  }

  show(preserveFocus?: boolean): void;
  show(column?: ViewColumn, preserveFocus?: boolean): void;
  show(a?: boolean | ViewColumn, b?: boolean): void {
    if (typeof a === "boolean" || a === undefined) {
      this.inner.show(a);
    } else {
      this.inner.show(a, b);
    }
  }

  hide(): void {
    this.inner.hide();
  }

  dispose(): void {
    this.inner.dispose();
  }
}
