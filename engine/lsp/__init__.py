"""The language server for policy files (`policy lsp`): diagnostics, hover, completion, go to definition."""
