-- Hook events kept in the spool while the StateDB was busy: the id of each one replayed,
-- written in the transaction that applies it, so a replay interrupted before the spool
-- file is deleted never applies an event twice.
CREATE TABLE hook_spool_applied (
    event_id TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
);
