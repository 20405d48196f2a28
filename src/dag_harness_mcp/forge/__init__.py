"""Forges: one interface (issues, merge requests, merge trains), GitLab and local backends.

Importing this package stays cheap: the backends (and python-gitlab) load only
when :func:`create_forge` picks one.
"""

from dag_harness_mcp.forge.base import Forge, IssueRef, MergeRequestRef, TrainEntry
from dag_harness_mcp.forge.factory import create_forge
from dag_harness_mcp.forge.train_poll import poll_merge_train

__all__ = ["Forge", "IssueRef", "MergeRequestRef", "TrainEntry", "create_forge", "poll_merge_train"]
