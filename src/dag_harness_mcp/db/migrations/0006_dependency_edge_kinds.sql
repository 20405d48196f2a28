-- Edges from files of another role (include_tasks, import_tasks, include_vars, vars_files)
-- and from templated role names (kind 'templated': one edge per role the name can match,
-- so one reference may now point at several roles). SQLite cannot alter a CHECK
-- constraint: the table is rebuilt, its rows and ids kept, and its view recreated.
DROP VIEW v_dependency_graph;

CREATE TABLE role_dependencies_v6 (
    id              INTEGER PRIMARY KEY,
    role_id         INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    depends_on_id   INTEGER REFERENCES roles(id) ON DELETE SET NULL,
    reference       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('role', 'external', 'dynamic', 'templated')),
    source          TEXT NOT NULL CHECK (source IN ('meta', 'include_role', 'import_role',
                        'include_tasks', 'import_tasks', 'include_vars', 'vars_files')),
    source_file     TEXT NOT NULL DEFAULT '',
    UNIQUE (role_id, reference, source, source_file, depends_on_id)
);

INSERT INTO role_dependencies_v6 (id, role_id, depends_on_id, reference, kind, source, source_file)
SELECT id, role_id, depends_on_id, reference, kind, source, source_file FROM role_dependencies;

DROP TABLE role_dependencies;

ALTER TABLE role_dependencies_v6 RENAME TO role_dependencies;

CREATE INDEX ix_role_dependencies_role ON role_dependencies(role_id);

CREATE INDEX ix_role_dependencies_target ON role_dependencies(depends_on_id);

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
