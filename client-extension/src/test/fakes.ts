// Stubs of the extension's two seams, VsCodeApi (vscodeapi.ts) and Connect (server.ts), that
// record what the extension does. Settings follow VS Code's rules: a workspace value overrides a
// user value, except for package.json's restricted settings in an untrusted workspace.
import * as fs from "node:fs";
import * as path from "node:path";
import type {
  ConfigurationChangeEvent,
  Disposable,
  Event,
  InputBoxOptions,
  LogLevel,
  LogOutputChannel,
  SecretStorage,
  SecretStorageChangeEvent,
  ThemeColor,
} from "vscode";
import { activateKestrel, type Activated } from "../activation";
import type { Interpreter } from "../python";
import type { Connection, ServerHooks, ServerLaunch } from "../server";
import type { ConfigReader, MessageSeverity, StatusItem, VsCodeApi } from "../vscodeapi";

export const CANARY = "sk-kestrel-canary-0123456789abcdef";

/** The extension's package.json (tests run from out/test/). */
export const PACKAGE = JSON.parse(
  fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf-8"),
) as {
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
  contributes: { configuration: { properties: Record<string, Record<string, unknown>> } };
};

/** An event whose `fire` resolves when every listener's returned promise has. */
export class AsyncEvent<T> {
  private readonly listeners = new Set<(value: T) => unknown>();
  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  };
  async fire(value: T): Promise<void> {
    await Promise.all([...this.listeners].map((listener) => listener(value)));
  }
}

/** A LogOutputChannel that records what reaches it. */
export function recorder(level = 2 as LogLevel): { channel: LogOutputChannel; lines: string[]; shown: number[] } {
  const lines: string[] = [];
  const shown: number[] = [];
  const noEvent: Event<LogLevel> = () => ({ dispose: () => undefined });
  const push =
    (tag: string) =>
    (message: string | Error, ...args: unknown[]) =>
      lines.push([tag, String(message), ...args.map(String)].join(" "));
  const channel = {
    name: "test",
    logLevel: level,
    onDidChangeLogLevel: noEvent,
    trace: push("trace"),
    debug: push("debug"),
    info: push("info"),
    warn: push("warn"),
    error: push("error"),
    append: push("append"),
    appendLine: push("appendLine"),
    replace: push("replace"),
    clear: () => undefined,
    show: () => shown.push(lines.length),
    hide: () => undefined,
    dispose: () => undefined,
  } as unknown as LogOutputChannel;
  return { channel, lines, shown };
}

export class FakeSecrets implements SecretStorage {
  readonly values = new Map<string, string>();
  private readonly changed = new AsyncEvent<SecretStorageChangeEvent>();
  readonly onDidChange = this.changed.event;

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.values.get(key));
  }
  async store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    await this.changed.fire({ key });
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
    await this.changed.fire({ key });
  }
}

export interface Toast {
  severity: MessageSeverity;
  message: string;
  buttons: string[];
}

export class FakeVsCodeApi implements VsCodeApi {
  /** "section.key" -> value, as the user's settings and the workspace's settings hold them. */
  readonly user: Record<string, unknown> = {};
  readonly workspace: Record<string, unknown> = {};
  trusted = true;
  readonly commands = new Map<string, () => unknown>();
  readonly executed: string[] = [];
  readonly toasts: Toast[] = [];
  /** The button the next toast's user clicks. */
  clickNext: string | undefined;
  readonly inputBoxes: InputBoxOptions[] = [];
  /** What the next input box returns (undefined: Escape). */
  typeNext: string | undefined;
  readonly statusMessages: string[] = [];
  readonly log = recorder();
  readonly statusItem = { show: () => undefined, dispose: () => undefined } as StatusItem;
  readonly configurationChanged = new AsyncEvent<ConfigurationChangeEvent>();
  readonly trustGranted = new AsyncEvent<void>();
  readonly onDidChangeConfiguration = this.configurationChanged.event;
  readonly onDidGrantWorkspaceTrust = this.trustGranted.event;

  private value(name: string): unknown {
    const restricted = PACKAGE.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(name);
    if (name in this.workspace && (this.trusted || !restricted)) {
      return this.workspace[name];
    }
    if (name in this.user) {
      return this.user[name];
    }
    return PACKAGE.contributes.configuration.properties[name]?.default;
  }

  getConfiguration(section: string): ConfigReader {
    const name = (key: string) => `${section}.${key}`;
    return {
      get: <T>(key: string, fallback?: T): T | undefined => (this.value(name(key)) as T | undefined) ?? fallback,
      inspect: <T>(key: string) => ({
        key: name(key),
        defaultValue: PACKAGE.contributes.configuration.properties[name(key)]?.default as T | undefined,
        globalValue: this.user[name(key)] as T | undefined,
        workspaceValue: this.workspace[name(key)] as T | undefined,
      }),
    };
  }

  /** Change a user setting and tell the extension, as VS Code does. */
  async setUser(name: string, value: unknown): Promise<void> {
    if (value === undefined) {
      delete this.user[name];
    } else {
      this.user[name] = value;
    }
    await this.configurationChanged.fire({
      affectsConfiguration: (section: string) => name === section || name.startsWith(`${section}.`),
    });
  }

  workspaceFolder(): undefined {
    return undefined;
  }
  registerCommand(command: string, run: () => unknown): Disposable {
    this.commands.set(command, run);
    return { dispose: () => void this.commands.delete(command) };
  }
  /** Run a registered command as the palette would, and wait for it. */
  async run(command: string): Promise<void> {
    const run = this.commands.get(command);
    if (!run) {
      throw new Error(`${command} is not registered`);
    }
    await run();
  }
  executeCommand(command: string): Promise<unknown> {
    this.executed.push(command);
    return Promise.resolve(undefined);
  }
  createLogOutputChannel(): LogOutputChannel {
    return this.log.channel;
  }
  createStatusBarItem(): StatusItem {
    return this.statusItem;
  }
  themeColor(id: string): ThemeColor {
    return { id };
  }
  showMessage(severity: MessageSeverity, message: string, ...buttons: string[]): Promise<string | undefined> {
    this.toasts.push({ severity, message, buttons });
    const choice = this.clickNext;
    this.clickNext = undefined;
    return Promise.resolve(choice);
  }
  setStatusBarMessage(text: string): void {
    this.statusMessages.push(text);
  }
  showInputBox(options: InputBoxOptions): Promise<string | undefined> {
    this.inputBoxes.push(options);
    const typed = this.typeNext;
    this.typeNext = undefined;
    return Promise.resolve(typed);
  }
  extensionApi<T>(): Promise<T | undefined> {
    return Promise.resolve(undefined);
  }
}

/** A connection to no process: it records the settings sent and exposes the server's hooks. */
export class FakeConnection implements Connection {
  state: Connection["state"] = "stopped";
  initializationOptions: Record<string, unknown> | undefined;
  readonly sent: Record<string, unknown>[] = [];

  constructor(
    readonly launch: ServerLaunch,
    readonly hooks: ServerHooks,
  ) {}

  start(): Promise<void> {
    this.state = "running";
    this.initializationOptions = this.hooks.initializationOptions();
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.state = "stopped";
    return Promise.resolve();
  }
  sendSettings(kestrel: Record<string, unknown>): Promise<void> {
    this.sent.push(kestrel);
    return Promise.resolve();
  }
}

export const PYTHON: Interpreter = { command: "python3", version: "3.12.0", source: "a test" };

export interface Harness extends Activated {
  api: FakeVsCodeApi;
  secrets: FakeSecrets;
  connections: FakeConnection[];
  /** The current connection. */
  readonly connection: FakeConnection;
}

/** The extension activated on stubs, its server started. */
export async function activated(
  setup: (api: FakeVsCodeApi, secrets: FakeSecrets) => void = () => undefined,
  env: Record<string, string | undefined> = {},
): Promise<Harness> {
  const api = new FakeVsCodeApi();
  const secrets = new FakeSecrets();
  setup(api, secrets);
  const connections: FakeConnection[] = [];
  const kestrel = activateKestrel({
    api,
    secrets,
    extensionPath: "/nonexistent/kestrel-extension",
    env,
    connect: (launch, hooks) => {
      const connection = new FakeConnection(launch, hooks);
      connections.push(connection);
      return connection;
    },
    findInterpreter: () => Promise.resolve(PYTHON),
  });
  await kestrel.server.start();
  return {
    ...kestrel,
    api,
    secrets,
    connections,
    get connection() {
      const last = connections[connections.length - 1];
      if (!last) {
        throw new Error("no connection was made");
      }
      return last;
    },
  };
}
