"""Subprocesses for the test nodes (async, bounded, cancellable) and their result parsers."""
