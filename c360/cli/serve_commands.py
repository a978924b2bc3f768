"""CLI commands (placeholder until filled in)."""

from c360.cli import app  # noqa: F401
