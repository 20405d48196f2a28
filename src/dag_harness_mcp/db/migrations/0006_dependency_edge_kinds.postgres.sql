-- Edges from files of another role (include_tasks, import_tasks, include_vars, vars_files)
-- and from templated role names (kind 'templated': one edge per role the name can match,
-- so one reference may now point at several roles).
ALTER TABLE role_dependencies DROP CONSTRAINT role_dependencies_kind_check;

ALTER TABLE role_dependencies ADD CONSTRAINT role_dependencies_kind_check
    CHECK (kind IN ('role', 'external', 'dynamic', 'templated'));

ALTER TABLE role_dependencies DROP CONSTRAINT role_dependencies_source_check;

ALTER TABLE role_dependencies ADD CONSTRAINT role_dependencies_source_check
    CHECK (source IN ('meta', 'include_role', 'import_role', 'include_tasks', 'import_tasks',
                      'include_vars', 'vars_files'));

ALTER TABLE role_dependencies DROP CONSTRAINT role_dependencies_role_id_reference_source_source_file_key;

ALTER TABLE role_dependencies ADD CONSTRAINT role_dependencies_edge_key
    UNIQUE (role_id, reference, source, source_file, depends_on_id);
