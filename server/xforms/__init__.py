"""Pure XML work on XForms and submission instances: no database, no Flask (like Central's lib/data)."""
