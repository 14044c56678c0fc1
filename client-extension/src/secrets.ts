// API keys live only in VS Code's SecretStorage, one per provider.
import type { Disposable, SecretStorage } from "vscode";
import { demoKeyFrom } from "./demo-key";
import { Emitter } from "./events";
import { secretKeyName } from "./protocol";
import type { Redactor } from "./redact";
import type { VsCodeApi } from "./vscodeapi";

export class KeyStore implements Disposable {
  private readonly emitter = new Emitter<string>();
  private readonly subscription: Disposable;
  /** Fired with the provider whose key changed (in this window or another). */
  readonly onDidChange = this.emitter.event;

  constructor(
    private readonly secrets: SecretStorage,
    private readonly redactor: Redactor,
    private demoKey: string | undefined = demoKeyFrom(process.env),
  ) {
    this.subscription = secrets.onDidChange(async (e) => {
      const prefix = secretKeyName("");
      if (e.key.startsWith(prefix)) {
        await this.emitter.fire(e.key.slice(prefix.length));
      }
    });
  }

  async get(provider: string): Promise<string | undefined> {
    const key = (await this.secrets.get(secretKeyName(provider))) || this.demoKey;
    this.redactor.add(key);
    return key || undefined;
  }

  async set(provider: string, key: string): Promise<void> {
    this.redactor.add(key);
    await this.secrets.store(secretKeyName(provider), key);
  }

  async delete(provider: string): Promise<void> {
    this.demoKey = undefined;
    await this.secrets.delete(secretKeyName(provider));
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

export const EMPTY_KEY_HINT = 'Enter a key. To remove the stored key, run "Kestrel: Clear API Key".';

/**
 * The one password box of **Kestrel: Set API Key**. Returns the key, or undefined on Escape.
 * An empty entry is refused inside the box (it points to Clear API Key).
 */
export async function promptForKey(api: VsCodeApi, provider: string): Promise<string | undefined> {
  const value = await api.showInputBox({
    title: `Kestrel: API key for ${provider}`,
    prompt: `Paste your ${provider} API key. It is kept in VS Code's secret storage and sent only to the Kestrel server.`,
    placeHolder: `${provider} API key`,
    password: true,
    ignoreFocusOut: true,
    validateInput: (text) => (text.trim() === "" ? EMPTY_KEY_HINT : undefined),
  });
  if (value === undefined) {
    return undefined;
  }
  const key = value.trim();
  return key === "" ? undefined : key;
}
