"""The live worker: settings, per-project state store, Faust app, web pages and the global view."""
