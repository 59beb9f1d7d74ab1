-- ordo.read_steps starts the steps of the messages it read in one statement, without locking them first.
--
-- Since V14 a read locked every step of its messages (SELECT ... FOR UPDATE, in id order), classified each one
-- (enqueued: start it; in progress: a redelivery, a new attempt or, with no attempts left, a failure; anything else:
-- drop the message), then updated the startable ones. Nearly every message of a busy queue is a step still enqueued
-- with that very message, so the lock statement was a second visit to each row and a row lock (a WAL record) before
-- the update that locks it anyway: about 7 µs of a fan-out step's 160 µs of database time (pg_stat_statements over
-- ./ordo bench burn-down --shape fanout, load-tests/RESULTS.md).
--
-- Now the update comes first, for the steps still enqueued with the message read: under READ COMMITTED an UPDATE
-- that meets a row changed by a concurrent transaction waits for it and tests its WHERE again on the row as that
-- transaction left it, so a step cancelled, finished or enqueued again meanwhile is not started. Only the messages
-- the update did not start go the old way, through ordo.start_read_steps, V16's code: redeliveries, exhausted
-- steps, and messages to drop. Both ways give the steps they started, and one statement returns them all. The
-- update's statement starts after the read's, as V16 requires, and it walks the messages in step id order, the
-- order complete_steps and the old way lock steps in.

create type ordo.started_step as (
    msg_id bigint, task_id bigint, step_id bigint, step_name text, handler text, attempt integer, max_attempts integer,
    input jsonb, depends_on text[], started_at timestamptz, timeout_ms bigint, headers jsonb
);

-- V16's read_steps between its read and its output: lock the steps of the messages, classify, and start what can
-- start; returns the steps started
create function ordo.start_read_steps(v_queue text, v_msgs ordo.message_record[])
    returns ordo.started_step[]
    language plpgsql set search_path = ordo, pg_temp as
$$
#variable_conflict use_column
declare
    v_read bigint[];
    v_claims ordo.step_claim[];
    v_startable integer;
    v_drop bigint[];
    v_started ordo.started_step[];
begin
    with msgs as (
        select m.msg_id, (m.message ->> 'step_id')::bigint as step_id, m.headers
        from unnest(v_msgs) m
    ),
    locked as (
        select s.id, s.status, s.attempt, s.max_attempts, s.msg_id, msgs.msg_id as read_msg, msgs.headers
        from ordo.step s join msgs on msgs.step_id = s.id
        order by s.id
        for update of s
    ),
    claims as (
        select row(l.read_msg, l.id, l.status,
                   l.msg_id = l.read_msg and (l.status = 'enqueued' or (l.status = 'in_progress' and l.attempt < l.max_attempts)),
                   l.attempt,
                   l.msg_id = l.read_msg and l.status = 'in_progress' and l.attempt >= l.max_attempts,
                   l.headers)::ordo.step_claim as c
        from locked l
    )
    select (select array_agg(msgs.msg_id) from msgs),
           (select coalesce(array_agg(claims.c), '{}') from claims),
           (select count(*) from claims where (claims.c).startable)
    into v_read, v_claims, v_startable;

    if v_startable < cardinality(v_read) then
        -- a redelivered message whose step has no attempts left: give up on it through the orchestrator
        if exists (select 1 from unnest(v_claims) c where c.exhausted) then
            perform ordo.send_batch('orchestration',
                array(select jsonb_build_object('type', 'step_result', 'task_id', s.task_id, 'step_id', c.step_id,
                                                'attempt', c.attempt, 'status', 'failed', 'permanent', true,
                                                'error', jsonb_build_object('class', 'WorkerLost',
                                                    'message', format('the step''s message came back %s times without a result: its workers were lost', c.attempt)))
                      from unnest(v_claims) c join ordo.step s on s.id = c.step_id
                      where c.exhausted));
        end if;
        -- drop messages of steps that are finished, cancelled, superseded or unknown
        v_drop := array(select m from unnest(v_read) m
                        where not exists (select 1 from unnest(v_claims) c where c.msg_id = m and c.startable));
        perform ordo.delete(v_queue, v_drop);
    end if;
    if v_startable = 0 then
        return '{}';
    end if;

    with started as (
        update ordo.step s
        set status = 'in_progress',
            attempt = case when c.old_status = 'in_progress' then c.attempt + 1 else c.attempt end,
            started_at = now(),
            updated_at = now()
        from unnest(v_claims) c
        where s.id = c.step_id and c.startable
        returning c.msg_id, s.task_id, s.id, s.name, s.handler, s.attempt, s.max_attempts, s.input, s.depends_on,
                  s.started_at, s.timeout_ms, c.headers, c.old_status
    ),
    logged as (
        insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
        select st.task_id, st.id, st.name, st.old_status, 'in_progress', st.attempt, 'worker:' || session_user,
               case when st.old_status = 'in_progress' then jsonb_build_object('redelivered', true) end
        from started st
    )
    select coalesce(array_agg(row(st.msg_id, st.task_id, st.id, st.name, st.handler, st.attempt, st.max_attempts,
                                  st.input, st.depends_on, st.started_at, st.timeout_ms, st.headers)::ordo.started_step),
                    '{}')
    into v_started
    from started st;
    return v_started;
end
$$;

alter function ordo.start_read_steps(text, ordo.message_record[])
    set plan_cache_mode = force_generic_plan
    set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off set jit = off;

revoke all on function ordo.start_read_steps(text, ordo.message_record[]) from public;

create or replace function ordo.read_steps(namespace text, vt double precision, qty integer)
    returns table (
        msg_id bigint, task_id bigint, step_id bigint, step_name text, handler text, attempt integer,
        max_attempts integer, context jsonb, input jsonb, parent_results jsonb, deadline timestamptz,
        headers jsonb, template_name text, template_version text)
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
#variable_conflict use_column
declare
    v_queue text := 'ns_' || ordo.validate_namespace_name(namespace);
    v_msgs ordo.message_record[];
    v_started ordo.started_step[];
begin
    perform ordo.authorize_worker(namespace);
    -- the messages first, in a statement of their own: the next one's snapshot is taken after the read, so it sees
    -- the steps as the passes that sent these messages left them (see the header of V16)
    select array_agg(m) into v_msgs from ordo.read(v_queue, read_steps.vt, read_steps.qty) m;
    if v_msgs is null then
        return;
    end if;
    -- the steps still enqueued with the message read, started in step id order
    with msgs as (
        select m.msg_id, (m.message ->> 'step_id')::bigint as step_id, m.headers
        from unnest(v_msgs) m
        order by 2
    ),
    started as (
        update ordo.step s
        set status = 'in_progress', started_at = now(), updated_at = now()
        from msgs
        where s.id = msgs.step_id and s.msg_id = msgs.msg_id and s.status = 'enqueued'
        returning row(msgs.msg_id, s.task_id, s.id, s.name, s.handler, s.attempt, s.max_attempts, s.input, s.depends_on,
                      s.started_at, s.timeout_ms, msgs.headers)::ordo.started_step as st
    ),
    logged as (
        insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor)
        select (started.st).task_id, (started.st).step_id, (started.st).step_name, 'enqueued', 'in_progress',
               (started.st).attempt, 'worker:' || session_user
        from started
    )
    select coalesce(array_agg(started.st), '{}') into v_started from started;
    if cardinality(v_started) < cardinality(v_msgs) then
        -- redeliveries, exhausted steps and messages to drop: the way every message went before V24
        v_started := v_started || ordo.start_read_steps(v_queue,
            array(select m from unnest(v_msgs) m
                  where not exists (select 1 from unnest(v_started) st where st.msg_id = m.msg_id)));
    end if;

    return query
        select st.msg_id, st.task_id, st.step_id, st.step_name, st.handler, st.attempt, st.max_attempts, t.context,
               st.input,
               case when cardinality(st.depends_on) = 0 then '{}'::jsonb
                    else coalesce((select jsonb_object_agg(p.name, p.result) from ordo.step p
                                   where p.task_id = st.task_id and p.name = any (st.depends_on)), '{}') end,
               st.started_at + make_interval(secs => st.timeout_ms / 1000.0),
               st.headers, t.template_name, t.template_version
        from unnest(v_started) st
        join ordo.task t on t.id = st.task_id
        order by st.msg_id;
end
$$;

alter function ordo.read_steps(text, double precision, integer)
    set plan_cache_mode = force_generic_plan
    set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off set jit = off;
