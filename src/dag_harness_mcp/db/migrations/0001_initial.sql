-- 0001: the initial StateDB schema. Append-only: never edit once released;
-- later changes go into 0002_*.sql and onwards.
-- Timestamps are ISO-8601 UTC text written by the application.

CREATE TABLE roles (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    path            TEXT NOT NULL,
    wave            INTEGER,
    wave_pinned     INTEGER NOT NULL DEFAULT 0,
    has_molecule    INTEGER NOT NULL DEFAULT 0,
    has_pytest      INTEGER NOT NULL DEFAULT 0,
    description     TEXT,
    parse_error     TEXT,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
    content_hash    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE role_dependencies (
    id              INTEGER PRIMARY KEY,
    role_id         INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    depends_on_id   INTEGER REFERENCES roles(id) ON DELETE SET NULL,
    reference       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('role', 'external', 'dynamic')),
    source          TEXT NOT NULL CHECK (source IN ('meta', 'include_role', 'import_role')),
    source_file     TEXT NOT NULL DEFAULT '',
    UNIQUE (role_id, reference, source, source_file)
);
CREATE INDEX ix_role_dependencies_role ON role_dependencies(role_id);
CREATE INDEX ix_role_dependencies_target ON role_dependencies(depends_on_id);

CREATE TABLE worktrees (
    id              INTEGER PRIMARY KEY,
    role_id         INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    path            TEXT NOT NULL UNIQUE,
    branch          TEXT NOT NULL,
    base_ref        TEXT,
    head_sha        TEXT,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX ix_worktrees_role ON worktrees(role_id);

CREATE TABLE wave_runs (
    id              INTEGER PRIMARY KEY,
    status          TEXT NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
    mode            TEXT NOT NULL DEFAULT 'manual',
    from_wave       INTEGER,
    to_wave         INTEGER,
    concurrency     INTEGER,
    auto_approve    INTEGER NOT NULL DEFAULT 0,
    options         TEXT,
    summary         TEXT,
    pid             INTEGER,
    started_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT
);

CREATE TABLE workflow_executions (
    id              INTEGER PRIMARY KEY,
    thread_id       TEXT NOT NULL UNIQUE,
    workflow        TEXT NOT NULL DEFAULT 'box-up-role',
    role_id         INTEGER REFERENCES roles(id) ON DELETE SET NULL,
    role_name       TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'paused', 'completed', 'failed',
                                      'rejected', 'cancelled')),
    current_node    TEXT,
    next_nodes      TEXT,
    breakpoints     TEXT,
    error           TEXT,
    result          TEXT,
    checkpoint_id   TEXT,
    checkpoint_data TEXT,
    wave_run_id     INTEGER REFERENCES wave_runs(id) ON DELETE SET NULL,
    pid             INTEGER,
    started_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT
);
CREATE INDEX ix_workflow_executions_role ON workflow_executions(role_name);
CREATE INDEX ix_workflow_executions_status ON workflow_executions(status);

CREATE TABLE node_executions (
    id              INTEGER PRIMARY KEY,
    execution_id    INTEGER NOT NULL REFERENCES workflow_executions(id) ON DELETE CASCADE,
    node            TEXT NOT NULL,
    status          TEXT NOT NULL
                    CHECK (status IN ('running', 'completed', 'failed', 'interrupted', 'skipped')),
    attempt         INTEGER NOT NULL DEFAULT 1,
    checkpoint_id   TEXT NOT NULL DEFAULT '',
    started_at      TEXT,
    finished_at     TEXT,
    duration_ms     REAL,
    error           TEXT,
    output          TEXT,
    UNIQUE (execution_id, node, checkpoint_id)
);
CREATE INDEX ix_node_executions_execution ON node_executions(execution_id);

CREATE TABLE wave_run_roles (
    id              INTEGER PRIMARY KEY,
    wave_run_id     INTEGER NOT NULL REFERENCES wave_runs(id) ON DELETE CASCADE,
    role_name       TEXT NOT NULL,
    wave            INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'blocked',
                                      'paused', 'rejected', 'skipped', 'cancelled')),
    execution_id    INTEGER REFERENCES workflow_executions(id) ON DELETE SET NULL,
    reason          TEXT,
    started_at      TEXT,
    finished_at     TEXT,
    UNIQUE (wave_run_id, role_name)
);

CREATE TABLE test_runs (
    id              INTEGER PRIMARY KEY,
    role_id         INTEGER REFERENCES roles(id) ON DELETE CASCADE,
    role_name       TEXT NOT NULL,
    execution_id    INTEGER REFERENCES workflow_executions(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('molecule', 'pytest')),
    status          TEXT NOT NULL
                    CHECK (status IN ('passed', 'failed', 'error', 'timeout', 'cancelled')),
    passed          INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    exit_code       INTEGER,
    duration_ms     REAL,
    command         TEXT,
    output_tail     TEXT,
    started_at      TEXT NOT NULL,
    finished_at     TEXT
);
CREATE INDEX ix_test_runs_role ON test_runs(role_name, kind, id);

CREATE TABLE test_results (
    id              INTEGER PRIMARY KEY,
    test_run_id     INTEGER NOT NULL REFERENCES test_runs(id) ON DELETE CASCADE,
    test_name       TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('passed', 'failed', 'skipped', 'error')),
    duration_ms     REAL,
    UNIQUE (test_run_id, test_name)
);

CREATE TABLE test_regressions (
    id                  INTEGER PRIMARY KEY,
    role_id             INTEGER REFERENCES roles(id) ON DELETE CASCADE,
    role_name           TEXT NOT NULL,
    kind                TEXT NOT NULL,
    test_name           TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'flaky', 'resolved')),
    failure_count       INTEGER NOT NULL DEFAULT 1,
    flip_count          INTEGER NOT NULL DEFAULT 1,
    first_failed_run_id INTEGER REFERENCES test_runs(id) ON DELETE SET NULL,
    last_failed_run_id  INTEGER REFERENCES test_runs(id) ON DELETE SET NULL,
    last_passed_run_id  INTEGER REFERENCES test_runs(id) ON DELETE SET NULL,
    detected_at         TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    resolved_at         TEXT,
    UNIQUE (role_name, kind, test_name)
);

CREATE TABLE issues (
    id              INTEGER PRIMARY KEY,
    role_id         INTEGER REFERENCES roles(id) ON DELETE SET NULL,
    role_name       TEXT NOT NULL,
    execution_id    INTEGER REFERENCES workflow_executions(id) ON DELETE SET NULL,
    forge           TEXT NOT NULL,
    project         TEXT NOT NULL,
    iid             INTEGER NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    state           TEXT NOT NULL DEFAULT 'opened',
    labels          TEXT,
    web_url         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (forge, project, iid)
);
CREATE INDEX ix_issues_role ON issues(role_name);

CREATE TABLE merge_requests (
    id              INTEGER PRIMARY KEY,
    role_id         INTEGER REFERENCES roles(id) ON DELETE SET NULL,
    role_name       TEXT NOT NULL,
    execution_id    INTEGER REFERENCES workflow_executions(id) ON DELETE SET NULL,
    issue_id        INTEGER REFERENCES issues(id) ON DELETE SET NULL,
    forge           TEXT NOT NULL,
    project         TEXT NOT NULL,
    iid             INTEGER NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    source_branch   TEXT NOT NULL,
    target_branch   TEXT NOT NULL,
    sha             TEXT,
    state           TEXT NOT NULL DEFAULT 'opened',
    labels          TEXT,
    web_url         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    merged_at       TEXT,
    UNIQUE (forge, project, iid)
);
CREATE INDEX ix_merge_requests_role ON merge_requests(role_name);

CREATE TABLE merge_train_entries (
    id                  INTEGER PRIMARY KEY,
    merge_request_id    INTEGER NOT NULL UNIQUE REFERENCES merge_requests(id) ON DELETE CASCADE,
    target_branch       TEXT NOT NULL,
    position            INTEGER,
    status              TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'merged', 'failed', 'removed')),
    pipeline_id         INTEGER,
    pipeline_status     TEXT,
    queued_at           TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    completed_at        TEXT
);

CREATE TABLE store_items (
    namespace       TEXT NOT NULL,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    expires_at      REAL,
    ttl_minutes     REAL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX ix_store_items_expires ON store_items(expires_at);

CREATE TABLE agent_sessions (
    id                  INTEGER PRIMARY KEY,
    session_id          TEXT NOT NULL UNIQUE,
    parent_session_id   TEXT,
    agent_type          TEXT,
    cwd                 TEXT,
    model               TEXT,
    transcript_path     TEXT,
    source              TEXT,
    permission_mode     TEXT,
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    end_reason          TEXT,
    started_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    ended_at            TEXT
);
CREATE INDEX ix_agent_sessions_parent ON agent_sessions(parent_session_id);

CREATE TABLE tool_calls (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT NOT NULL,
    tool_use_id     TEXT NOT NULL UNIQUE,
    tool_name       TEXT NOT NULL,
    tool_input      TEXT,
    status          TEXT NOT NULL DEFAULT 'started'
                    CHECK (status IN ('started', 'succeeded', 'failed', 'denied')),
    decision        TEXT,
    decision_reason TEXT,
    error           TEXT,
    tool_response   TEXT,
    duration_ms     REAL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT
);
CREATE INDEX ix_tool_calls_session ON tool_calls(session_id);

CREATE TABLE file_changes (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT NOT NULL,
    tool_use_id     TEXT,
    tool_name       TEXT NOT NULL,
    path            TEXT NOT NULL,
    change_type     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL
);
CREATE INDEX ix_file_changes_session ON file_changes(session_id);

CREATE TABLE token_usage (
    id                      INTEGER PRIMARY KEY,
    session_id              TEXT NOT NULL,
    message_id              TEXT NOT NULL,
    model                   TEXT NOT NULL,
    input_tokens            INTEGER NOT NULL DEFAULT 0,
    output_tokens           INTEGER NOT NULL DEFAULT 0,
    cache_creation_tokens   INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens       INTEGER NOT NULL DEFAULT 0,
    cost_usd                REAL NOT NULL DEFAULT 0,
    recorded_at             TEXT NOT NULL,
    UNIQUE (session_id, message_id)
);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    ts              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    source          TEXT NOT NULL,
    action          TEXT NOT NULL,
    entity_type     TEXT,
    entity_id       TEXT,
    details         TEXT
);
CREATE INDEX ix_audit_log_ts ON audit_log(ts);

CREATE TABLE execution_contexts (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    session_id      TEXT,
    project_dir     TEXT,
    role_name       TEXT,
    execution_id    INTEGER REFERENCES workflow_executions(id) ON DELETE SET NULL,
    created_by      TEXT NOT NULL DEFAULT 'cli',
    created_at      TEXT NOT NULL,
    expires_at      TEXT,
    revoked_at      TEXT
);
CREATE INDEX ix_execution_contexts_session ON execution_contexts(session_id);

CREATE TABLE context_capabilities (
    id              INTEGER PRIMARY KEY,
    context_id      INTEGER NOT NULL REFERENCES execution_contexts(id) ON DELETE CASCADE,
    capability      TEXT NOT NULL
                    CHECK (capability IN ('file_write', 'bash_allow', 'bash_deny', 'mcp_tool',
                                          'gitlab_write')),
    pattern         TEXT NOT NULL DEFAULT '*',
    created_at      TEXT NOT NULL,
    UNIQUE (context_id, capability, pattern)
);

CREATE TABLE hotl_runs (
    id              INTEGER PRIMARY KEY,
    wave_run_id     INTEGER REFERENCES wave_runs(id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'stopping', 'stopped', 'completed', 'failed',
                                      'limit_reached')),
    policy          TEXT,
    pid             INTEGER,
    roles_done      INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL NOT NULL DEFAULT 0,
    stop_reason     TEXT,
    started_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT
);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    hotl_run_id     INTEGER REFERENCES hotl_runs(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    delivered       INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    created_at      TEXT NOT NULL
);

-- Views ---------------------------------------------------------------------

CREATE VIEW v_role_status AS
SELECT
    r.id AS role_id,
    r.name AS role_name,
    r.wave,
    r.status AS role_status,
    r.parse_error,
    w.path AS worktree_path,
    w.branch AS worktree_branch,
    (SELECT i.web_url FROM issues i WHERE i.role_name = r.name ORDER BY i.id DESC LIMIT 1) AS issue_url,
    (SELECT m.web_url FROM merge_requests m WHERE m.role_name = r.name ORDER BY m.id DESC LIMIT 1) AS mr_url,
    (SELECT m.state FROM merge_requests m WHERE m.role_name = r.name ORDER BY m.id DESC LIMIT 1) AS mr_state,
    (SELECT COUNT(*) FROM test_runs t WHERE t.role_name = r.name) AS test_runs,
    (SELECT COUNT(*) FROM test_runs t WHERE t.role_name = r.name AND t.status = 'passed') AS tests_passed,
    (SELECT COUNT(*) FROM test_runs t WHERE t.role_name = r.name AND t.status <> 'passed') AS tests_failed,
    (SELECT e.status FROM workflow_executions e WHERE e.role_name = r.name ORDER BY e.id DESC LIMIT 1) AS last_execution_status,
    (SELECT e.id FROM workflow_executions e WHERE e.role_name = r.name ORDER BY e.id DESC LIMIT 1) AS last_execution_id
FROM roles r
LEFT JOIN worktrees w ON w.id = (
    SELECT w2.id FROM worktrees w2 WHERE w2.role_id = r.id AND w2.status = 'active'
    ORDER BY w2.id DESC LIMIT 1
);

CREATE VIEW v_dependency_graph AS
SELECT
    r.name AS role_name,
    r.wave AS role_wave,
    COALESCE(d.name, rd.reference) AS depends_on,
    d.wave AS depends_on_wave,
    rd.kind,
    rd.source,
    rd.source_file
FROM role_dependencies rd
JOIN roles r ON r.id = rd.role_id
LEFT JOIN roles d ON d.id = rd.depends_on_id;

CREATE VIEW v_active_regressions AS
SELECT
    g.id,
    g.role_name,
    g.kind,
    g.test_name,
    g.status,
    g.failure_count,
    g.flip_count,
    g.first_failed_run_id,
    g.last_failed_run_id,
    g.last_passed_run_id,
    g.detected_at,
    g.updated_at
FROM test_regressions g
WHERE g.status IN ('active', 'flaky');

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

CREATE VIEW v_agent_sessions AS
SELECT
    s.session_id,
    s.parent_session_id,
    s.agent_type,
    s.cwd,
    s.model,
    s.status,
    s.end_reason,
    s.started_at,
    s.ended_at,
    (SELECT COUNT(*) FROM tool_calls t WHERE t.session_id = s.session_id) AS tool_calls,
    (SELECT COUNT(*) FROM tool_calls t WHERE t.session_id = s.session_id AND t.status = 'denied') AS denied_calls,
    (SELECT COUNT(*) FROM file_changes f WHERE f.session_id = s.session_id) AS file_changes,
    (SELECT COUNT(DISTINCT f.path) FROM file_changes f WHERE f.session_id = s.session_id) AS files_changed,
    (SELECT COALESCE(SUM(u.cost_usd), 0) FROM token_usage u WHERE u.session_id = s.session_id) AS cost_usd
FROM agent_sessions s;

CREATE VIEW v_daily_costs AS
SELECT
    substr(u.recorded_at, 1, 10) AS day,
    u.model,
    COUNT(*) AS messages,
    SUM(u.input_tokens) AS input_tokens,
    SUM(u.output_tokens) AS output_tokens,
    SUM(u.cache_creation_tokens) AS cache_creation_tokens,
    SUM(u.cache_read_tokens) AS cache_read_tokens,
    SUM(u.cost_usd) AS cost_usd
FROM token_usage u
GROUP BY substr(u.recorded_at, 1, 10), u.model;

CREATE VIEW v_session_costs AS
SELECT
    u.session_id,
    COUNT(*) AS messages,
    MIN(u.recorded_at) AS first_at,
    MAX(u.recorded_at) AS last_at,
    SUM(u.input_tokens) AS input_tokens,
    SUM(u.output_tokens) AS output_tokens,
    SUM(u.cache_creation_tokens) AS cache_creation_tokens,
    SUM(u.cache_read_tokens) AS cache_read_tokens,
    SUM(u.cost_usd) AS cost_usd
FROM token_usage u
GROUP BY u.session_id;
