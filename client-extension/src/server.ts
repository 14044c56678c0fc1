// The LanguageClient that runs the bundled Kestrel server: `<python> -m kestrel_lsp --stdio`
// with PYTHONPATH = <extension>/bundled/libs.
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from "vscode-languageclient/node";
import { registerNoticeHandler } from "./notices";
import { formatSetupReport, type KestrelStatus, STATUS_NOTIFICATION } from "./protocol";
import { findInterpreter, type Interpreter, NoInterpreterError } from "./python";
import type { Redactor, RedactingLogOutputChannel } from "./redact";
import type { KeyStore } from "./secrets";
import {
  configurationSection,
  effectiveProvider,
  type KestrelServerSettings,
  readServerSettings,
} from "./settings";
import type { StatusBar } from "./status";

export const CLIENT_ID = "kestrel";
export const CLIENT_NAME = "Kestrel";
const SHOW_OUTPUT = "Show Output";

/** The current `kestrel` settings as the server sees them (no key). */
export function currentSettings(): KestrelServerSettings {
  return readServerSettings(
    vscode.workspace.getConfiguration("kestrel"),
    vscode.workspace.getConfiguration("http"),
    process.env,
  );
}

/** The provider whose key the server needs (the setting, else KESTREL_PROVIDER, else deepseek). */
export function currentProvider(): string {
  return effectiveProvider(vscode.workspace.getConfiguration("kestrel"), process.env);
}

export class KestrelServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private clientDisposables: vscode.Disposable[] = [];
  /** The key the server has (or will get in initializationOptions); null when none. */
  private apiKey: string | null = null;
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: RedactingLogOutputChannel,
    private readonly redactor: Redactor,
    private readonly keys: KeyStore,
    private readonly status: StatusBar,
  ) {}

  get isRunning(): boolean {
    return this.client?.state === State.Running;
  }

  start(): Promise<void> {
    return this.serialize(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.serialize(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.serialize(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  /** Send a new key (null: cleared) without restarting: `{settings: {kestrel: {apiKey}}}`. */
  async sendApiKey(key: string | null): Promise<void> {
    this.apiKey = key;
    this.redactor.add(key);
    await this.notify({ apiKey: key });
  }

  /** Send the whole `kestrel` object; with `withKey`, the current key too (provider changes). */
  async sendSettings(withKey: boolean): Promise<void> {
    const kestrel: Record<string, unknown> = { ...currentSettings() };
    if (withKey) {
      kestrel.apiKey = this.apiKey;
    }
    await this.notify(kestrel);
  }

  /** Reload the stored key for the configured provider into memory. */
  async loadKey(provider: string): Promise<string | null> {
    this.apiKey = (await this.keys.get(provider)) ?? null;
    return this.apiKey;
  }

  get currentKey(): string | null {
    return this.apiKey;
  }

  private async notify(kestrel: Record<string, unknown>): Promise<void> {
    const client = this.client;
    if (!client) {
      return; // Not started: the next start sends it in initializationOptions.
    }
    if (client.state === State.Starting) {
      await this.lifecycle;
    }
    if (client.state !== State.Running) {
      return;
    }
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: { kestrel } });
  }

  private serialize(task: () => Promise<void>): Promise<void> {
    const next = this.lifecycle.then(task, task);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  private async doStart(): Promise<void> {
    this.status.starting();
    let interpreter: Interpreter;
    try {
      interpreter = await findInterpreter(this.log);
    } catch (err) {
      const message = err instanceof NoInterpreterError ? err.message : `Kestrel: ${String(err)}`;
      this.log.error(message);
      this.status.stopped(message);
      void vscode.window.showErrorMessage(message, SHOW_OUTPUT).then((choice) => {
        if (choice === SHOW_OUTPUT) {
          this.log.show();
        }
      });
      return;
    }

    const libs = path.join(this.context.extensionPath, "bundled", "libs");
    if (!fs.existsSync(path.join(libs, "kestrel_lsp"))) {
      this.log.warn(`${libs} has no kestrel_lsp: using whatever "import kestrel_lsp" finds.`);
    }
    this.log.info(`Starting the Kestrel server with ${interpreter.command} (Python ${interpreter.version}, ${interpreter.source}).`);

    const settings = currentSettings();
    await this.loadKey(settings.provider);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONPATH: [libs, process.env.PYTHONPATH].filter((p) => !!p).join(path.delimiter),
      PYTHONUNBUFFERED: "1",
      PYTHONIOENCODING: "utf-8",
    };
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? this.context.extensionPath;
    const serverOptions: ServerOptions = {
      command: interpreter.command,
      args: ["-m", "kestrel_lsp", "--stdio"],
      options: { cwd, env },
    };

    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: this.log,
      traceOutputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // A function: a restart after a crash sends the key current at that time.
      initializationOptions: () => this.initializationOptions(),
      middleware: {
        workspace: {
          // `workspace/configuration` answers the nested `kestrel` object, never the key.
          configuration: (params, token, next) => {
            const ours = params.items.map((item) =>
              item.section === "kestrel" || item.section?.startsWith("kestrel.") === true,
            );
            if (!ours.some((x) => x)) {
              return next(params, token);
            }
            const settingsNow = currentSettings();
            return Promise.resolve(next(params, token)).then((theirs) =>
              params.items.map((item, i) =>
                ours[i] && item.section
                  ? configurationSection(settingsNow, item.section)
                  : Array.isArray(theirs)
                    ? theirs[i]
                    : null,
              ),
            );
          },
        },
        // kestrel.checkSetup is registered by vscode-languageclient (a server command); the
        // extension only shows the report it returns.
        executeCommand: async (command, args, next) => {
          const result = await next(command, args);
          if (command === "kestrel.checkSetup") {
            this.log.info(formatSetupReport(result));
            this.log.show(true);
          }
          return result;
        },
      },
    };

    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    this.client = client;
    this.clientDisposables = [
      // Registered before start(): replaces the client's own window/showMessage handler.
      registerNoticeHandler(client, this.log, this.redactor),
      client.onNotification(STATUS_NOTIFICATION, (params: KestrelStatus) => this.status.update(params)),
      client.onDidChangeState((e) => {
        if (e.newState === State.Stopped) {
          this.status.stopped("Kestrel's server is not running.");
        } else if (e.newState === State.Starting) {
          this.status.starting();
        }
      }),
    ];
    try {
      await client.start();
      this.log.info("Kestrel server started.");
    } catch (err) {
      const message = `Kestrel: the language server did not start: ${this.redactor.redactValue(err instanceof Error ? err.message : err)}`;
      this.log.error(message);
      this.status.stopped(message);
      void vscode.window.showErrorMessage(message, SHOW_OUTPUT).then((choice) => {
        if (choice === SHOW_OUTPUT) {
          this.log.show();
        }
      });
    }
  }

  private initializationOptions(): Record<string, unknown> {
    const options: Record<string, unknown> = { ...currentSettings() };
    if (this.apiKey) {
      options.apiKey = this.apiKey;
    }
    return options;
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.clientDisposables) {
      d.dispose();
    }
    this.clientDisposables = [];
    if (client) {
      try {
        if (client.state !== State.Stopped) {
          await client.stop(5000);
        }
      } catch (err) {
        this.log.warn(`Stopping the Kestrel server: ${this.redactor.redactValue(err)}`);
      }
      await client.dispose().catch(() => undefined);
    }
  }

  dispose(): void {
    void this.stop();
  }
}
