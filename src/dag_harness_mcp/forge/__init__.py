"""Forges: one interface (issues, merge requests, merge trains), GitLab and local backends."""

from dag_harness_mcp.forge.base import Forge, IssueRef, MergeRequestRef, TrainEntry

__all__ = ["Forge", "IssueRef", "MergeRequestRef", "TrainEntry"]
