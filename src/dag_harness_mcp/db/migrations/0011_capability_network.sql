-- A capability context may let the commands it sandboxes use the network ('network';
-- docs/hooks.md, "The fence"). SQLite cannot alter a CHECK constraint: the table is
-- rebuilt, its rows and ids kept, and its view recreated.
DROP VIEW v_context_capabilities;

CREATE TABLE context_capabilities_v11 (
    id              INTEGER PRIMARY KEY,
    context_id      INTEGER NOT NULL REFERENCES execution_contexts(id) ON DELETE CASCADE,
    capability      TEXT NOT NULL
                    CHECK (capability IN ('file_write', 'bash_allow', 'bash_deny', 'mcp_tool',
                                          'gitlab_write', 'network')),
    pattern         TEXT NOT NULL DEFAULT '*',
    created_at      TEXT NOT NULL,
    UNIQUE (context_id, capability, pattern)
);

INSERT INTO context_capabilities_v11 (id, context_id, capability, pattern, created_at)
SELECT id, context_id, capability, pattern, created_at FROM context_capabilities;

DROP TABLE context_capabilities;

ALTER TABLE context_capabilities_v11 RENAME TO context_capabilities;

CREATE VIEW v_context_capabilities AS
SELECT
    c.id AS context_id,
    c.name AS context_name,
    c.session_id,
    c.project_dir,
    c.role_name,
    c.execution_id,
    c.created_at,
    c.expires_at,
    c.revoked_at,
    cap.capability,
    cap.pattern,
    CASE
        WHEN c.revoked_at IS NOT NULL THEN 'revoked'
        WHEN c.expires_at IS NOT NULL AND c.expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now') THEN 'expired'
        ELSE 'active'
    END AS state
FROM execution_contexts c
LEFT JOIN context_capabilities cap ON cap.context_id = c.id;
