-- A capability context may let the commands it sandboxes use the network ('network';
-- docs/hooks.md, "The fence").
ALTER TABLE context_capabilities DROP CONSTRAINT context_capabilities_capability_check;

ALTER TABLE context_capabilities ADD CONSTRAINT context_capabilities_capability_check
    CHECK (capability IN ('file_write', 'bash_allow', 'bash_deny', 'mcp_tool', 'gitlab_write',
                          'network'));
