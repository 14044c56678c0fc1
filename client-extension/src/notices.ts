// The server's `window/showMessage` notices, shown by the extension itself so the missing-key and
// rejected-key notices carry a **Set API Key** button (other editors see the plain notice).
import * as vscode from "vscode";
import { type LanguageClient, MessageType, ShowMessageNotification } from "vscode-languageclient/node";
import { offersSetApiKey, SET_API_KEY } from "./protocol";
import type { Redactor } from "./redact";

export function showNotice(
  type: MessageType,
  rawMessage: string,
  log: vscode.LogOutputChannel,
  redactor: Redactor,
): void {
  const message = redactor.redact(rawMessage);
  switch (type) {
    case MessageType.Error:
      log.error(message);
      break;
    case MessageType.Warning:
      log.warn(message);
      break;
    case MessageType.Info:
      log.info(message);
      break;
    default:
      log.info(message);
      return; // Log and Debug messages go to the output channel only.
  }

  if (offersSetApiKey(message)) {
    const show = type === MessageType.Warning ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    void show(message, SET_API_KEY).then((choice) => {
      if (choice === SET_API_KEY) {
        void vscode.commands.executeCommand("kestrel.setApiKey");
      }
    });
    return;
  }
  if (type === MessageType.Error) {
    void vscode.window.showErrorMessage(message);
  } else if (type === MessageType.Warning) {
    void vscode.window.showWarningMessage(message);
  } else {
    void vscode.window.showInformationMessage(message);
  }
}

/** Register before `client.start()`: it replaces vscode-languageclient's own handler. */
export function registerNoticeHandler(
  client: LanguageClient,
  log: vscode.LogOutputChannel,
  redactor: Redactor,
): vscode.Disposable {
  return client.onNotification(ShowMessageNotification.type, (params) => {
    showNotice(params.type, params.message, log, redactor);
  });
}
