"""Repositories: one module per group of tables, each reached as ``StateDB.<name>``."""
