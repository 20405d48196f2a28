"""dag-harness-mcp: box up Ansible roles through a checkpointed LangGraph workflow.

Import-light on purpose: the hooks import it on every tool call.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
