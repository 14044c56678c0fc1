// The server's `window/showMessage` notices, shown by the extension itself so the missing-key and
// rejected-key notices carry a **Set API Key** button (other editors see the plain notice).
import type { LogOutputChannel } from "vscode";
import { type KestrelStatus, MessageType, offersSetApiKey, SET_API_KEY } from "./protocol";
import type { Redactor } from "./redact";
import type { VsCodeApi } from "./vscodeapi";

/**
 * Log a notice and show it as a toast (Log and Debug messages go to the output channel only).
 * `status` is the server's latest `kestrel/status`, which decides the button.
 */
export function showNotice(
  api: VsCodeApi,
  log: LogOutputChannel,
  redactor: Redactor,
  type: number,
  rawMessage: string,
  status: KestrelStatus | undefined,
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
      return;
  }
  const severity = type === MessageType.Error ? "error" : type === MessageType.Warning ? "warning" : "info";
  if (offersSetApiKey(rawMessage, status)) {
    void api.showMessage(severity, message, SET_API_KEY).then((choice) => {
      if (choice === SET_API_KEY) {
        void api.executeCommand("kestrel.setApiKey");
      }
    });
    return;
  }
  void api.showMessage(severity, message);
}
