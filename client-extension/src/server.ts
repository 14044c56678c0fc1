// The Kestrel server's lifecycle as the extension sees it: find Python, start the bundled server
// (`<python> -m kestrel_lsp --stdio` with PYTHONPATH = <extension>/bundled/libs), hand it the
// settings and the key, and route what it sends (notices, status, command results). The LSP
// connection itself is behind `Connect` (languageclient.ts in the product, a stub in tests).
import * as fs from "node:fs";
import * as path from "node:path";
import type { Disposable, LogOutputChannel } from "vscode";
import { showNotice } from "./notices";
import { type KestrelStatus, setupReportText } from "./protocol";
import { findInterpreter, type Interpreter, NoInterpreterError } from "./python";
import type { Redactor } from "./redact";
import type { KeyStore } from "./secrets";
import {
  configurationSection,
  effectiveProvider,
  type Env,
  type KestrelServerSettings,
  readServerSettings,
} from "./settings";
import type { StatusBar } from "./status";
import type { VsCodeApi } from "./vscodeapi";

const SHOW_OUTPUT = "Show Output";

/** How to run the server process. */
export interface ServerLaunch {
  command: string;
  args: string[];
  cwd: string;
  env: Env;
  log: LogOutputChannel;
}

/** What the connection asks of the extension, and tells it. */
export interface ServerHooks {
  /** `initializationOptions`, read at every (re)start: the settings and the current key. */
  initializationOptions(): Record<string, unknown>;
  /** The answer to `workspace/configuration` for a section "kestrel" or "kestrel.x.y". */
  configuration(section: string): unknown;
  notice(type: number, message: string): void;
  status(status: KestrelStatus): void;
  /** The result of a server command run through VS Code (`kestrel.checkSetup`). */
  commandResult(command: string, result: unknown): void;
  stateChanged(state: "starting" | "stopped"): void;
}

export interface Connection {
  readonly state: "starting" | "running" | "stopped";
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `workspace/didChangeConfiguration` with `{settings: {kestrel}}`. */
  sendSettings(kestrel: Record<string, unknown>): Promise<void>;
}

export type Connect = (launch: ServerLaunch, hooks: ServerHooks) => Connection;

export interface ServerDeps {
  api: VsCodeApi;
  log: LogOutputChannel;
  redactor: Redactor;
  keys: KeyStore;
  status: StatusBar;
  extensionPath: string;
  env: Env;
  connect: Connect;
  findInterpreter?: (api: VsCodeApi, log: LogOutputChannel) => Promise<Interpreter>;
}

export class KestrelServer implements Disposable {
  private connection: Connection | undefined;
  /** The key the server has (or will get in initializationOptions); null when none. */
  private apiKey: string | null = null;
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ServerDeps) {}

  /** The current `kestrel` settings as the server sees them (no key). */
  settings(): KestrelServerSettings {
    const { api, env } = this.deps;
    return readServerSettings(api.getConfiguration("kestrel"), api.getConfiguration("http"), env);
  }

  /** The provider whose key the server needs (the setting, else KESTREL_PROVIDER, else the default). */
  provider(): string {
    return effectiveProvider(this.deps.api.getConfiguration("kestrel"), this.deps.env);
  }

  get isRunning(): boolean {
    return this.connection?.state === "running";
  }

  get currentKey(): string | null {
    return this.apiKey;
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
    this.deps.redactor.add(key);
    await this.notify({ apiKey: key });
  }

  /** Send the whole `kestrel` object; with `withKey`, the current key too (provider changes). */
  async sendSettings(withKey: boolean): Promise<void> {
    const kestrel: Record<string, unknown> = { ...this.settings() };
    if (withKey) {
      kestrel.apiKey = this.apiKey;
    }
    await this.notify(kestrel);
  }

  /** Reload the stored key for the configured provider into memory. */
  async loadKey(provider: string): Promise<string | null> {
    this.apiKey = (await this.deps.keys.get(provider)) ?? null;
    return this.apiKey;
  }

  private async notify(kestrel: Record<string, unknown>): Promise<void> {
    const connection = this.connection;
    if (!connection) {
      return; // Not started: the next start sends it in initializationOptions.
    }
    if (connection.state === "starting") {
      await this.lifecycle;
    }
    if (connection.state !== "running") {
      return;
    }
    await connection.sendSettings(kestrel);
  }

  private serialize(task: () => Promise<void>): Promise<void> {
    const next = this.lifecycle.then(task, task);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  private showStartError(message: string): void {
    const { api, log, status } = this.deps;
    log.error(message);
    status.stopped(message);
    void api.showMessage("error", message, SHOW_OUTPUT).then((choice) => {
      if (choice === SHOW_OUTPUT) {
        log.show();
      }
    });
  }

  private async doStart(): Promise<void> {
    const { api, log, redactor, status } = this.deps;
    status.starting();
    let interpreter: Interpreter;
    try {
      interpreter = await (this.deps.findInterpreter ?? findInterpreter)(api, log);
    } catch (err) {
      this.showStartError(err instanceof NoInterpreterError ? err.message : `Kestrel: ${String(err)}`);
      return;
    }

    const libs = path.join(this.deps.extensionPath, "bundled", "libs");
    if (!fs.existsSync(path.join(libs, "kestrel_lsp"))) {
      log.warn(`${libs} has no kestrel_lsp: using whatever "import kestrel_lsp" finds.`);
    }
    log.info(`Starting the Kestrel server with ${interpreter.command} (Python ${interpreter.version}, ${interpreter.source}).`);

    await this.loadKey(this.provider());
    const env: Env = {
      ...this.deps.env,
      PYTHONPATH: [libs, this.deps.env.PYTHONPATH].filter((p) => !!p).join(path.delimiter),
      PYTHONUNBUFFERED: "1",
      PYTHONIOENCODING: "utf-8",
    };
    const launch: ServerLaunch = {
      command: interpreter.command,
      args: ["-m", "kestrel_lsp", "--stdio"],
      cwd: api.workspaceFolder()?.fsPath ?? this.deps.extensionPath,
      env,
      log,
    };
    const connection = this.deps.connect(launch, {
      // A function: a restart after a crash sends the key current at that time.
      initializationOptions: () => this.initializationOptions(),
      // Never the key: VS Code's `workspace/configuration` answer is the nested `kestrel` object.
      configuration: (section) => configurationSection(this.settings(), section),
      notice: (type, message) => showNotice(api, log, redactor, type, message, status.current),
      status: (params) => status.update(params),
      commandResult: (command, result) => {
        if (command === "kestrel.checkSetup") {
          log.info(setupReportText(result));
          log.show(true);
        }
      },
      stateChanged: (state) =>
        state === "starting" ? status.starting() : status.stopped("Kestrel's server is not running."),
    });
    this.connection = connection;
    try {
      await connection.start();
      log.info("Kestrel server started.");
    } catch (err) {
      this.showStartError(
        `Kestrel: the language server did not start: ${redactor.redactValue(err instanceof Error ? err.message : err)}`,
      );
    }
  }

  private initializationOptions(): Record<string, unknown> {
    const options: Record<string, unknown> = { ...this.settings() };
    if (this.apiKey) {
      options.apiKey = this.apiKey;
    }
    return options;
  }

  private async doStop(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (!connection) {
      return;
    }
    try {
      await connection.stop();
    } catch (err) {
      this.deps.log.warn(`Stopping the Kestrel server: ${this.deps.redactor.redactValue(err)}`);
    }
  }

  dispose(): void {
    void this.stop();
  }
}
