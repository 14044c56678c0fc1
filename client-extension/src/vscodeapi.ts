// The few VS Code calls the extension makes, behind one interface (as in
// microsoft/vscode-python-tools-extension-template's `common/vscodeapi.ts`). Every other module
// takes a `VsCodeApi` and imports "vscode" for its types only, so the extension's logic runs under
// node's test runner with a stub (eslint enforces this: see eslint.config.mjs).
import * as vscode from "vscode";

/** The calls made on a WorkspaceConfiguration. */
export type ConfigReader = Pick<vscode.WorkspaceConfiguration, "get"> &
  Partial<Pick<vscode.WorkspaceConfiguration, "inspect">>;

export type StatusItem = Pick<
  vscode.StatusBarItem,
  "name" | "text" | "tooltip" | "command" | "backgroundColor" | "accessibilityInformation" | "show" | "dispose"
>;

export type MessageSeverity = "error" | "warning" | "info";

export interface VsCodeApi {
  getConfiguration(section: string): ConfigReader;
  /** The first workspace folder, if any. */
  workspaceFolder(): vscode.Uri | undefined;
  readonly onDidChangeConfiguration: vscode.Event<vscode.ConfigurationChangeEvent>;
  readonly onDidGrantWorkspaceTrust: vscode.Event<void>;
  registerCommand(command: string, run: () => unknown): vscode.Disposable;
  executeCommand(command: string): Thenable<unknown>;
  /** A `{log: true}` output channel (vscode-languageclient 11 needs a LogOutputChannel). */
  createLogOutputChannel(name: string): vscode.LogOutputChannel;
  createStatusBarItem(id: string, priority: number): StatusItem;
  themeColor(id: string): vscode.ThemeColor;
  /** A toast; resolves to the button clicked, if any. */
  showMessage(severity: MessageSeverity, message: string, ...buttons: string[]): Thenable<string | undefined>;
  setStatusBarMessage(text: string, timeoutMs: number): void;
  showInputBox(options: vscode.InputBoxOptions): Thenable<string | undefined>;
  /** The exported API of an installed extension (activated on demand), or undefined. */
  extensionApi<T>(id: string): Promise<T | undefined>;
}

const SHOW = {
  error: vscode.window.showErrorMessage,
  warning: vscode.window.showWarningMessage,
  info: vscode.window.showInformationMessage,
} as const;

export const vscodeApi: VsCodeApi = {
  getConfiguration: (section) => vscode.workspace.getConfiguration(section),
  workspaceFolder: () => vscode.workspace.workspaceFolders?.[0]?.uri,
  onDidChangeConfiguration: vscode.workspace.onDidChangeConfiguration,
  onDidGrantWorkspaceTrust: vscode.workspace.onDidGrantWorkspaceTrust,
  registerCommand: (command, run) => vscode.commands.registerCommand(command, run),
  executeCommand: (command) => vscode.commands.executeCommand(command),
  createLogOutputChannel: (name) => vscode.window.createOutputChannel(name, { log: true }),
  createStatusBarItem: (id, priority) => vscode.window.createStatusBarItem(id, vscode.StatusBarAlignment.Right, priority),
  themeColor: (id) => new vscode.ThemeColor(id),
  showMessage: (severity, message, ...buttons) => SHOW[severity](message, ...buttons),
  setStatusBarMessage: (text, timeoutMs) => {
    vscode.window.setStatusBarMessage(text, timeoutMs);
  },
  showInputBox: (options) => vscode.window.showInputBox(options),
  extensionApi: async <T>(id: string) => {
    const extension = vscode.extensions.getExtension<T>(id);
    if (!extension) {
      return undefined;
    }
    return extension.isActive ? extension.exports : await extension.activate();
  },
};
