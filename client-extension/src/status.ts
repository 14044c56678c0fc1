// The status bar item that follows the server's `kestrel/status` notification.
import type { Disposable } from "vscode";
import { type KestrelStatus, type Severity, statusView } from "./protocol";
import type { Redactor } from "./redact";
import type { StatusItem, VsCodeApi } from "./vscodeapi";

const BACKGROUND: Record<Severity, string | undefined> = {
  ok: undefined,
  busy: undefined,
  warning: "statusBarItem.warningBackground",
  error: "statusBarItem.errorBackground",
};

export class StatusBar implements Disposable {
  private readonly item: StatusItem;
  private last: KestrelStatus | undefined;

  constructor(
    private readonly api: VsCodeApi,
    private readonly redactor: Redactor,
  ) {
    this.item = api.createStatusBarItem("kestrel.status", 100);
    this.item.name = "Kestrel";
    this.starting();
    this.item.show();
  }

  /** The server's latest `kestrel/status`, unredacted (undefined while it is not running). */
  get current(): KestrelStatus | undefined {
    return this.last;
  }

  starting(): void {
    this.render("$(loading~spin) Kestrel", "busy", "kestrel.showOutput", "Kestrel's server is starting.");
  }

  stopped(reason: string): void {
    this.last = undefined;
    this.render(
      "$(error) Kestrel: not running",
      "error",
      "kestrel.showOutput",
      `${this.redactor.redact(reason)}\n\nClick to show the output.`,
    );
  }

  update(status: KestrelStatus): void {
    this.last = status;
    const safe: KestrelStatus = { ...status, message: status.message && this.redactor.redact(status.message) };
    const view = statusView(safe);
    this.render(view.text, view.severity, view.command, view.tooltip);
  }

  private render(text: string, severity: Severity, command: string, tooltip: string): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.command = command;
    const color = BACKGROUND[severity];
    this.item.backgroundColor = color ? this.api.themeColor(color) : undefined;
    this.item.accessibilityInformation = { label: text.replace(/\$\([^)]*\)\s*/g, ""), role: "button" };
  }

  dispose(): void {
    this.item.dispose();
  }
}
