"""Feature modules: LSP params in, prompts to the provider, edits and notices out."""
