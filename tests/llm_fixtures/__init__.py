"""Messages API fixtures for the Claude layer's tests and token benchmark (no network anywhere)."""
