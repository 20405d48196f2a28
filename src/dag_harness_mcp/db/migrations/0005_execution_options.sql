-- Run options a resume must restore: whether human approval is skipped.
ALTER TABLE workflow_executions ADD COLUMN auto_approve INTEGER NOT NULL DEFAULT 0;
