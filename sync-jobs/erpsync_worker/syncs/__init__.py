"""One small module per sync; `SYNCS` maps the command-line name to its function."""
