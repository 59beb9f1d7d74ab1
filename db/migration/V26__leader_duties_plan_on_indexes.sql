-- The leader's duties over steps and tasks plan without sequential scans, as the orchestration pass's transactions
-- (OrchestrationPass.INDEX_PLANS) and the worker's and queue's functions (V9-V15) do.
--
-- ordo.enforce_step_timeouts, ordo.promote_due_retries and ordo.reclaim_expired_leases run every leader interval.
-- Each is meant to walk a partial index (step_running, step_waiting_retry, task_leased) that holds only the few rows
-- it looks for. Where ordo.step and ordo.task had been analysed while empty (a new install after VACUUM ANALYZE, a
-- restored schema), the planner took them for empty and planned sequential scans: every task or step read, every
-- interval, until autovacuum analysed the tables again (DutyPlansTest). With sequential scans off the index is the
-- plan whatever the statistics say.

alter function ordo.enforce_step_timeouts(integer) set enable_seqscan = off;
alter function ordo.promote_due_retries(double precision, integer) set enable_seqscan = off;
alter function ordo.reclaim_expired_leases() set enable_seqscan = off;
