-- Forge: why a merge-train entry failed, and the commit a merge produced.
ALTER TABLE merge_train_entries ADD COLUMN failure_reason TEXT;
ALTER TABLE merge_requests ADD COLUMN merge_commit_sha TEXT;
