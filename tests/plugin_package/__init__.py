"""A tiny third-party plugin package, and a helper that installs distributions for tests."""
