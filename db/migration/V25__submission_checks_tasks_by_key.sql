-- ordo.submit_task plans without sequential scans, so that the foreign key check of each step it inserts finds the
-- step's task by its primary key however small ordo.task was when the check was planned.
--
-- PostgreSQL plans a foreign key check (SELECT 1 FROM ONLY ordo.task x WHERE id = $1 FOR KEY SHARE OF x) once per
-- session and keeps that plan until the table's statistics change. Where ordo.task had been analysed while empty (a
-- new install after VACUUM ANALYZE, a restored schema, the benchmark's first run), the plan was a sequential scan,
-- and each step inserted read every task submitted before it: 4,002,000 task rows read to submit 2,000 two-step
-- tasks in one transaction (BulkSubmissionTest), and 1,062 submissions a second against 3,858 in a burn-down of
-- 20,000 tasks on a new database (load-tests/RESULTS.md). Planned inside submit_task with sequential scans off, the
-- check is an index scan on task_pkey from the first row. The function's own statements already use indexes.
--
-- The settings of V4 (security definer, search_path) are kept: alter function adds to them.

alter function ordo.submit_task(text, text, text, jsonb, jsonb) set enable_seqscan = off;
