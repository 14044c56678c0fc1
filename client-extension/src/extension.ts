// Kestrel's VS Code extension: a launcher. It finds Python, starts the bundled server, keeps the
// API key in SecretStorage and hands it to the server; the AI work is all in the server.
import type { ExtensionContext } from "vscode";
import { activateKestrel } from "./activation";
import { connectLanguageClient } from "./languageclient";
import type { KestrelServer } from "./server";
import { vscodeApi } from "./vscodeapi";

let server: KestrelServer | undefined;

export function activate(context: ExtensionContext): void {
  const kestrel = activateKestrel({
    api: vscodeApi,
    secrets: context.secrets,
    extensionPath: context.extensionPath,
    env: process.env,
    connect: connectLanguageClient,
  });
  context.subscriptions.push(...kestrel.disposables);
  server = kestrel.server;
  void server.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
