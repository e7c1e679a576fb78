"""The console's pages: one module per area, each with its `router` (see docs/console.md)."""
