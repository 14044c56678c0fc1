// What activating the extension sets up: the redacting output channel, the key store, the status
// bar, the server, the commands and the listeners that keep the server's settings and key current.
// Everything VS Code comes in through `VsCodeApi`, so tests run it with a stub.
import type { Disposable, LogLevel, SecretStorage } from "vscode";
import { Emitter } from "./events";
import { LOG_LEVEL_TRACE, Redactor, RedactingLogOutputChannel } from "./redact";
import { KeyStore, promptForKey } from "./secrets";
import { type Connect, KestrelServer, type ServerDeps } from "./server";
import { type Env, RESTART_SETTINGS } from "./settings";
import { StatusBar } from "./status";
import type { VsCodeApi } from "./vscodeapi";

export interface ActivationDeps {
  api: VsCodeApi;
  secrets: SecretStorage;
  extensionPath: string;
  env: Env;
  connect: Connect;
  findInterpreter?: ServerDeps["findInterpreter"];
}

export interface Activated {
  server: KestrelServer;
  log: RedactingLogOutputChannel;
  disposables: Disposable[];
}

/** VS Code's own settings that feed the server's `http` settings. */
const VSCODE_HTTP_SETTINGS = ["http.proxy", "http.noProxy", "http.proxyStrictSSL"];

export function activateKestrel(deps: ActivationDeps): Activated {
  const { api } = deps;
  const redactor = new Redactor();
  const traceChanged = new Emitter<LogLevel>();
  const traceEnabled = (): boolean => api.getConfiguration("kestrel").get<string>("trace.server", "off") !== "off";
  const log = new RedactingLogOutputChannel(api.createLogOutputChannel("Kestrel"), redactor, {
    enabled: traceEnabled,
    onDidChange: traceChanged.event,
  });
  const keys = new KeyStore(deps.secrets, redactor);
  const status = new StatusBar(api, redactor);
  const server = new KestrelServer({ ...deps, log, redactor, keys, status });
  const disposables: Disposable[] = [log, traceChanged, keys, status, server];

  disposables.push(
    api.registerCommand("kestrel.setApiKey", async () => {
      const provider = server.provider();
      const key = await promptForKey(api, provider);
      if (key === undefined) {
        return; // Escape: nothing changes.
      }
      // The server's copy first, so the secret-change event below sees nothing new to send.
      const sent = server.sendApiKey(key);
      await keys.set(provider, key);
      await sent;
      log.info(`API key for ${provider} saved in secret storage and sent to the server.`);
      api.setStatusBarMessage(`Kestrel: API key for ${provider} saved`, 4000);
    }),
    api.registerCommand("kestrel.clearApiKey", async () => {
      const provider = server.provider();
      const sent = server.sendApiKey(null);
      await keys.delete(provider);
      await sent;
      log.info(`API key for ${provider} removed from secret storage.`);
      void api.showMessage("info", `Kestrel: API key for ${provider} cleared.`);
    }),
    api.registerCommand("kestrel.restartServer", () => server.restart()),
    api.registerCommand("kestrel.showOutput", () => log.show()),
    // kestrel.checkSetup is NOT registered here: it is the server's command and
    // vscode-languageclient registers it (see languageclient.ts, middleware.executeCommand).
  );

  disposables.push(
    api.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("kestrel.trace.server")) {
        void traceChanged.fire(traceEnabled() ? LOG_LEVEL_TRACE : log.logLevel);
      }
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        await server.restart();
        return;
      }
      if (e.affectsConfiguration("kestrel.provider")) {
        // The key stored for the new provider, or null.
        await server.loadKey(server.provider());
        await server.sendSettings(true);
        return;
      }
      if (e.affectsConfiguration("kestrel") || VSCODE_HTTP_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        await server.sendSettings(false);
      }
    }),
    // A key set or cleared in another window.
    keys.onDidChange(async (provider) => {
      if (provider !== server.provider()) {
        return;
      }
      const key = (await keys.get(provider)) ?? null;
      if (key !== server.currentKey) {
        await server.sendApiKey(key);
      }
    }),
    // Trusting the workspace makes its restricted settings (baseUrl, http.*) count.
    api.onDidGrantWorkspaceTrust(() => server.sendSettings(false)),
  );

  return { server, log, disposables };
}
