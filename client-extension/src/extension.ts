// Kestrel's VS Code extension: a launcher. It finds Python, starts the bundled server, keeps the
// API key in SecretStorage and hands it to the server; the AI work is all in the server.
import * as vscode from "vscode";
import { Redactor, RedactingLogOutputChannel } from "./redact";
import { KeyStore, promptForKey } from "./secrets";
import { currentProvider, KestrelServer } from "./server";
import { RESTART_SETTINGS } from "./settings";
import { StatusBar } from "./status";

let server: KestrelServer | undefined;

const configuredProvider = currentProvider;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const redactor = new Redactor();
  const traceChanged = new vscode.EventEmitter<vscode.LogLevel>();
  const traceEnabled = (): boolean =>
    vscode.workspace.getConfiguration("kestrel").get<string>("trace.server", "off") !== "off";
  const log = new RedactingLogOutputChannel(vscode.window.createOutputChannel("Kestrel", { log: true }), redactor, {
    enabled: traceEnabled,
    onDidChange: traceChanged.event,
  });
  const keys = new KeyStore(context.secrets, redactor);
  const status = new StatusBar(redactor);
  const kestrel = new KestrelServer(context, log, redactor, keys, status);
  server = kestrel;
  context.subscriptions.push(log, traceChanged, keys, status, kestrel);

  context.subscriptions.push(
    vscode.commands.registerCommand("kestrel.setApiKey", async () => {
      const provider = configuredProvider();
      const key = await promptForKey(provider);
      if (key === undefined) {
        return; // Escape: nothing changes.
      }
      // The server's copy first, so the secret-change event below sees nothing new to send.
      const sent = kestrel.sendApiKey(key);
      await keys.set(provider, key);
      await sent;
      log.info(`API key for ${provider} saved in secret storage and sent to the server.`);
      vscode.window.setStatusBarMessage(`Kestrel: API key for ${provider} saved`, 4000);
    }),
    vscode.commands.registerCommand("kestrel.clearApiKey", async () => {
      const provider = configuredProvider();
      const sent = kestrel.sendApiKey(null);
      await keys.delete(provider);
      await sent;
      log.info(`API key for ${provider} removed from secret storage.`);
      void vscode.window.showInformationMessage(`Kestrel: API key for ${provider} cleared.`);
    }),
    vscode.commands.registerCommand("kestrel.restartServer", () => kestrel.restart()),
    vscode.commands.registerCommand("kestrel.showOutput", () => log.show()),
    // kestrel.checkSetup is NOT registered here: it is the server's command and
    // vscode-languageclient registers it (see server.ts, middleware.executeCommand).
  );

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("kestrel.trace.server")) {
        traceChanged.fire(traceEnabled() ? vscode.LogLevel.Trace : log.logLevel);
      }
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        await kestrel.restart();
        return;
      }
      if (e.affectsConfiguration("kestrel.provider")) {
        // The key stored for the new provider, or null.
        await kestrel.loadKey(configuredProvider());
        await kestrel.sendSettings(true);
        return;
      }
      if (
        e.affectsConfiguration("kestrel") ||
        e.affectsConfiguration("http.proxy") ||
        e.affectsConfiguration("http.noProxy") ||
        e.affectsConfiguration("http.proxyStrictSSL")
      ) {
        await kestrel.sendSettings(false);
      }
    }),
    // A key set or cleared in another window.
    keys.onDidChange(async (provider) => {
      if (provider !== configuredProvider()) {
        return;
      }
      const key = (await keys.get(provider)) ?? null;
      if (key !== kestrel.currentKey) {
        await kestrel.sendApiKey(key);
      }
    }),
    // Trusting the workspace makes its restricted settings (baseUrl, http.*) count.
    vscode.workspace.onDidGrantWorkspaceTrust(() => kestrel.sendSettings(false)),
  );

  void kestrel.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
