"""Ansible knowledge as pure functions: role discovery, references, the graph, waves."""
