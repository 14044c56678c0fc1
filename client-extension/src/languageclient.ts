// The product's `Connect`: a vscode-languageclient LanguageClient on the server's stdio.
import type { Disposable } from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  ShowMessageNotification,
  State,
} from "vscode-languageclient/node";
import { type KestrelStatus, STATUS_NOTIFICATION } from "./protocol";
import type { Connect, Connection } from "./server";
import { isKestrelSection } from "./settings";

export const CLIENT_ID = "kestrel";
export const CLIENT_NAME = "Kestrel";

export const connectLanguageClient: Connect = (launch, hooks) => {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    // The redacting channel: the verbose trace carries `initialize` params, key included.
    outputChannel: launch.log,
    traceOutputChannel: launch.log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions: () => hooks.initializationOptions(),
    middleware: {
      workspace: {
        configuration: (params, token, next) => {
          const ours = params.items.map((item) => isKestrelSection(item.section));
          if (!ours.some((x) => x)) {
            return next(params, token);
          }
          return Promise.resolve(next(params, token)).then((theirs) =>
            params.items.map((item, i) =>
              ours[i] && item.section
                ? hooks.configuration(item.section)
                : Array.isArray(theirs)
                  ? (theirs[i] as unknown)
                  : null,
            ),
          );
        },
      },
      // kestrel.checkSetup is the server's command: vscode-languageclient registers it (the
      // extension must not), and the extension only shows the report it returns.
      executeCommand: async (command, args, next) => {
        const result: unknown = await next(command, args);
        hooks.commandResult(command, result);
        return result;
      },
    },
  };
  const client = new LanguageClient(
    CLIENT_ID,
    CLIENT_NAME,
    { command: launch.command, args: launch.args, options: { cwd: launch.cwd, env: launch.env } },
    clientOptions,
  );
  const subscriptions: Disposable[] = [
    // Registered before start(): replaces the client's own window/showMessage handler.
    client.onNotification(ShowMessageNotification.type, (params) => hooks.notice(params.type, params.message)),
    client.onNotification(STATUS_NOTIFICATION, (params: KestrelStatus) => hooks.status(params)),
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) {
        hooks.stateChanged("stopped");
      } else if (e.newState === State.Starting) {
        hooks.stateChanged("starting");
      }
    }),
  ];

  const connection: Connection = {
    get state() {
      return client.state === State.Running ? "running" : client.state === State.Starting ? "starting" : "stopped";
    },
    start: () => client.start(),
    stop: async () => {
      for (const subscription of subscriptions) {
        subscription.dispose();
      }
      try {
        if (client.state !== State.Stopped) {
          await client.stop(5000);
        }
      } finally {
        await client.dispose().catch(() => undefined);
      }
    },
    sendSettings: (kestrel) => client.sendNotification(DidChangeConfigurationNotification.type, { settings: { kestrel } }),
  };
  return connection;
};
