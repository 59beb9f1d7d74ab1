-- Ordo dead letters, second part: classification, the history of what happened to each letter, requeue and
-- discard (one letter, or in bulk by filter), retention of resolved letters, a wake-up for dlq-processors, and
-- the dlq-processor's config keys.
--
-- A letter is written by the orchestrator in the transaction that gives up on its step or message (V2) and is
-- never changed in place except for its status and classification: requeue and discard resolve it, every change
-- is recorded in ordo.dead_letter_event, and only retention (of resolved letters, in batches) deletes.
--
-- Alert checks of the dlq-processors are serialized by advisory lock (1869767791, 7) (see V3 for the others).
--
-- SQLSTATEs raised here: 22023 invalid argument (names it), 22004 null argument, OR404 unknown dead letter,
-- OR409 the letter or its task is not in a state that allows the change (already resolved, task not failed).

alter table ordo.dead_letter
    add column classification text,
    add column classified_at  timestamptz,
    add column classified_by  text,
    add constraint dead_letter_classification_valid
        check (classification is null or classification in ('transient', 'permanent', 'unknown'));

-- new letters, for the dlq-processors (claimed with FOR UPDATE SKIP LOCKED)
create index dead_letter_unclassified on ordo.dead_letter (id) where classified_at is null;
create index dead_letter_by_namespace on ordo.dead_letter (namespace, id);
create index dead_letter_by_time on ordo.dead_letter (dead_lettered_at);
-- retention
create index dead_letter_resolved on ordo.dead_letter (resolved_at) where status <> 'open';

-- What happened to each letter: who did what, when and why. Alerts concern a namespace, not one letter.
create table ordo.dead_letter_event (
    id              bigint generated always as identity primary key,
    dead_letter_id  bigint references ordo.dead_letter (id) on delete cascade,
    namespace       text        not null,
    kind            text        not null,
    actor           text        not null,
    reason          text,
    detail          jsonb,
    at              timestamptz not null default now(),
    constraint dead_letter_event_kind_valid
        check (kind in ('classified', 'requeued', 'auto_requeued', 'discarded', 'alerted')),
    constraint dead_letter_event_target check ((kind = 'alerted') = (dead_letter_id is null))
);
create index dead_letter_event_by_letter on ordo.dead_letter_event (dead_letter_id, id);
create index dead_letter_event_alerts on ordo.dead_letter_event (namespace, at) where kind = 'alerted';

-- Idle dlq-processors wake up on channel 'ordo.dead_letter' (one notification per transaction).
create function ordo.notify_dead_letter() returns trigger
    language plpgsql as
$$
begin
    perform pg_notify('ordo.dead_letter', '');
    return null;
end
$$;

create trigger dead_letter_notify after insert on ordo.dead_letter
    for each statement execute function ordo.notify_dead_letter();

-- Dead letters matching a filter, newest first, before a cursor (a letter id). Filter keys, all optional:
-- namespace, template, step, error_class, classification, status, task_id, from and to (dead-lettering
-- time, ISO 8601; from inclusive, to exclusive). The admin API's list and the bulk requeue both use it.
create function ordo.find_dead_letters(p_filter jsonb, p_before_id bigint default null, p_limit integer default 100)
    returns setof ordo.dead_letter
    language plpgsql stable as
$$
declare
    v_filter jsonb := coalesce(p_filter, '{}');
    v_from timestamptz;
    v_to timestamptz;
    v_key text;
begin
    if jsonb_typeof(v_filter) <> 'object' then
        raise exception 'filter: must be a JSON object' using errcode = '22023';
    end if;
    perform ordo.refuse_unknown_keys(v_filter, array['namespace', 'template', 'step', 'error_class', 'classification',
                                                     'status', 'task_id', 'from', 'to'], 'filter');
    foreach v_key in array array['namespace', 'template', 'step', 'error_class', 'classification', 'status', 'from', 'to'] loop
        if v_filter ? v_key and jsonb_typeof(v_filter -> v_key) <> 'string' then
            raise exception 'filter.%: must be a string', v_key using errcode = '22023';
        end if;
    end loop;
    if v_filter ? 'task_id' and jsonb_typeof(v_filter -> 'task_id') <> 'number' then
        raise exception 'filter.task_id: must be a number' using errcode = '22023';
    end if;
    if v_filter ? 'status' and v_filter ->> 'status' not in ('open', 'requeued', 'discarded') then
        raise exception 'filter.status: must be open, requeued or discarded, got %', quote_literal(v_filter ->> 'status')
            using errcode = '22023';
    end if;
    if v_filter ? 'classification' and v_filter ->> 'classification' not in ('transient', 'permanent', 'unknown', 'unclassified') then
        raise exception 'filter.classification: must be transient, permanent, unknown or unclassified, got %',
            quote_literal(v_filter ->> 'classification') using errcode = '22023';
    end if;
    begin
        v_from := (v_filter ->> 'from')::timestamptz;
        v_to := (v_filter ->> 'to')::timestamptz;
    exception when invalid_datetime_format or datetime_field_overflow then
        raise exception 'filter.from and filter.to: must be timestamps like 2025-01-31T12:00:00Z' using errcode = '22023';
    end;
    if p_limit is null or p_limit < 1 or p_limit > 100000 then
        raise exception 'limit: must be between 1 and 100000, got %', coalesce(p_limit::text, 'null') using errcode = '22023';
    end if;
    return query
        select d.* from ordo.dead_letter d
        where (not v_filter ? 'namespace' or d.namespace = v_filter ->> 'namespace')
          and (not v_filter ? 'template' or d.template_name = v_filter ->> 'template')
          and (not v_filter ? 'step' or d.step_name = v_filter ->> 'step')
          and (not v_filter ? 'error_class' or d.error_class = v_filter ->> 'error_class')
          and (not v_filter ? 'classification'
               or d.classification is not distinct from nullif(v_filter ->> 'classification', 'unclassified'))
          and (not v_filter ? 'status' or d.status = v_filter ->> 'status')
          and (not v_filter ? 'task_id' or d.task_id = (v_filter ->> 'task_id')::bigint)
          and (v_from is null or d.dead_lettered_at >= v_from)
          and (v_to is null or d.dead_lettered_at < v_to)
          and (p_before_id is null or d.id < p_before_id)
        order by d.id desc
        limit p_limit;
end
$$;

-- Puts a dead-lettered step back to work: the step and the steps cancelled because it failed become pending
-- again with a fresh set of attempts (their template's max_attempts; attempt numbers keep counting up so that
-- a late result of an old attempt is still refused), its errors stay in ordo.step.errors, the task is
-- in_progress again, and a 'resume' orchestration message (after p_delay_ms) makes an orchestrator enqueue
-- what is ready. p_patched_input, when not null, replaces the step's input. Everything is recorded: the
-- transitions (actor p_actor), the letter's status and an event. Returns the task id.
create function ordo.requeue_dead_letter(p_id bigint, p_patched_input jsonb default null, p_actor text default null,
                                         p_reason text default null, p_auto boolean default false,
                                         p_delay_ms bigint default 0)
    returns bigint
    language plpgsql as
$$
declare
    v_letter ordo.dead_letter;
    v_task ordo.task;
    v_step ordo.step;
    v_actor text := coalesce(nullif(p_actor, ''), 'sql:' || session_user);
    v_detail jsonb;
    v_reopened integer;
begin
    if p_id is null then
        raise exception 'dead letter id must not be null' using errcode = '22004';
    end if;
    if p_delay_ms is null or p_delay_ms < 0 or p_delay_ms > 86400000 then
        raise exception 'delay: must be between 0 and 86400000 ms, got %', coalesce(p_delay_ms::text, 'null') using errcode = '22023';
    end if;
    if length(p_reason) > 2000 then
        raise exception 'reason: at most 2000 characters' using errcode = '22023';
    end if;
    if octet_length(p_patched_input::text) > ordo.max_context_bytes() then
        raise exception 'input: % bytes, more than the limit of % bytes', octet_length(p_patched_input::text), ordo.max_context_bytes()
            using errcode = '22023';
    end if;
    select * into v_letter from ordo.dead_letter d where d.id = p_id for update;
    if not found then
        raise exception 'unknown dead letter %', p_id using errcode = 'OR404';
    end if;
    if v_letter.status <> 'open' then
        raise exception 'dead letter % is % already (by %, at %)', p_id, v_letter.status, v_letter.resolved_by, v_letter.resolved_at
            using errcode = 'OR409';
    end if;
    if v_letter.step_id is null then
        raise exception 'dead letter % holds an unprocessable % message, not a step: there is nothing to requeue; discard it',
            p_id, v_letter.namespace using errcode = 'OR409';
    end if;
    select * into v_task from ordo.task t where t.id = v_letter.task_id for update;
    if not found then
        raise exception 'dead letter %: its task % no longer exists', p_id, v_letter.task_id using errcode = 'OR409';
    end if;
    -- every step of the task, in the orchestrator's lock order
    perform 1 from ordo.step s where s.task_id = v_task.id order by s.id for update;
    select * into v_step from ordo.step s where s.id = v_letter.step_id;
    if v_task.status <> 'failed' or v_step.status is distinct from 'failed' then
        raise exception 'dead letter %: task % is % and step % is %; only the failed step of a failed task can be requeued',
            p_id, v_task.id, v_task.status, v_letter.step_name, coalesce(v_step.status, 'gone') using errcode = 'OR409';
    end if;

    v_detail := jsonb_build_object('dead_letter_id', p_id, 'requeued', true, 'reason', p_reason);
    with reopened as (
        update ordo.step s
        set status = 'pending',
            max_attempts = old.attempt + coalesce(ts.max_attempts, old.max_attempts),
            input = case when s.id = v_step.id and p_patched_input is not null then p_patched_input else old.input end,
            msg_id = null, next_attempt_at = null, enqueued_at = null, started_at = null, completed_at = null,
            updated_at = now()
        from ordo.step old
        left join ordo.template_step ts
               on ts.namespace = v_task.namespace and ts.template_name = v_task.template_name
              and ts.template_version = v_task.template_version and ts.step_name = old.name
        where old.id = s.id and s.task_id = v_task.id and (s.id = v_step.id or old.status = 'cancelled')
        returning s.id, s.name, old.status as from_state, s.attempt
    ),
    logged as (
        insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
        select v_task.id, r.id, r.name, r.from_state, 'pending', r.attempt, v_actor, v_detail from reopened r
        returning 1
    )
    select count(*) into v_reopened from logged;

    update ordo.task t set status = 'in_progress', error = null, completed_at = null, updated_at = now()
    where t.id = v_task.id;
    insert into ordo.transition (task_id, from_state, to_state, actor, detail)
    values (v_task.id, v_task.status, 'in_progress', v_actor, v_detail);

    update ordo.dead_letter d
    set status = 'requeued', resolved_by = v_actor, resolved_reason = p_reason, resolved_at = now()
    where d.id = p_id;
    insert into ordo.dead_letter_event (dead_letter_id, namespace, kind, actor, reason, detail)
    values (p_id, v_letter.namespace, case when p_auto then 'auto_requeued' else 'requeued' end, v_actor, p_reason,
            jsonb_build_object('task_id', v_task.id, 'step_id', v_step.id, 'steps_reopened', v_reopened,
                               'input_patched', p_patched_input is not null, 'delay_ms', p_delay_ms));

    perform ordo.send('orchestration', jsonb_build_object('type', 'resume', 'task_id', v_task.id),
                      case when v_task.trace_context is null then null
                           else jsonb_build_object('trace_context', v_task.trace_context) end,
                      p_delay_ms / 1000.0, v_task.priority);
    return v_task.id;
end
$$;

-- Requeues every open, requeueable letter (its step and task failed) that matches the filter (see
-- ordo.find_dead_letters), at most p_limit of them, oldest first. With p_dry_run it only counts them and
-- changes nothing. Returns how many it requeued (or would requeue).
create function ordo.requeue_dead_letters(p_filter jsonb, p_actor text, p_reason text default null,
                                          p_dry_run boolean default false, p_limit integer default 10000)
    returns integer
    language plpgsql as
$$
declare
    v_filter jsonb := coalesce(p_filter, '{}');
    v_ids bigint[];
    v_id bigint;
    v_count integer := 0;
begin
    if jsonb_typeof(v_filter) = 'object' and v_filter ? 'status' and v_filter ->> 'status' is distinct from 'open' then
        raise exception 'filter.status: a bulk requeue takes open dead letters only' using errcode = '22023';
    end if;
    if p_limit is null or p_limit < 1 or p_limit > 100000 then
        raise exception 'limit: must be between 1 and 100000, got %', coalesce(p_limit::text, 'null') using errcode = '22023';
    end if;
    if p_dry_run then
        return (select count(*) from ordo.find_dead_letters(v_filter || '{"status": "open"}', null, p_limit) d
                join ordo.task t on t.id = d.task_id
                join ordo.step s on s.id = d.step_id
                where t.status = 'failed' and s.status = 'failed');
    end if;
    -- lock the letters, then their tasks in id order (the orchestrator's order), then requeue one by one
    select coalesce(array_agg(x.id order by x.id), '{}') into v_ids
    from (select d.id from ordo.dead_letter d
          where d.id in (select f.id from ordo.find_dead_letters(v_filter || '{"status": "open"}', null, p_limit) f)
            and d.status = 'open'
          order by d.id
          for update of d) x;
    perform 1 from ordo.task t
    where t.id in (select d.task_id from ordo.dead_letter d where d.id = any (v_ids))
    order by t.id
    for update;
    foreach v_id in array v_ids loop
        -- checked letter by letter: requeueing one letter may change what the next one can do
        if exists (select 1 from ordo.dead_letter d
                   join ordo.task t on t.id = d.task_id
                   join ordo.step s on s.id = d.step_id
                   where d.id = v_id and t.status = 'failed' and s.status = 'failed') then
            perform ordo.requeue_dead_letter(v_id, null, p_actor, p_reason);
            v_count := v_count + 1;
        end if;
    end loop;
    return v_count;
end
$$;

-- Gives up on a dead letter for good: the task stays failed. A reason is required.
create function ordo.discard_dead_letter(p_id bigint, p_actor text, p_reason text)
    returns void
    language plpgsql as
$$
declare
    v_letter ordo.dead_letter;
    v_actor text := coalesce(nullif(p_actor, ''), 'sql:' || session_user);
begin
    if p_id is null then
        raise exception 'dead letter id must not be null' using errcode = '22004';
    end if;
    if p_reason is null or btrim(p_reason) = '' then
        raise exception 'reason: discarding dead letter % needs a reason', p_id using errcode = '22023';
    end if;
    if length(p_reason) > 2000 then
        raise exception 'reason: at most 2000 characters' using errcode = '22023';
    end if;
    select * into v_letter from ordo.dead_letter d where d.id = p_id for update;
    if not found then
        raise exception 'unknown dead letter %', p_id using errcode = 'OR404';
    end if;
    if v_letter.status <> 'open' then
        raise exception 'dead letter % is % already (by %, at %)', p_id, v_letter.status, v_letter.resolved_by, v_letter.resolved_at
            using errcode = 'OR409';
    end if;
    update ordo.dead_letter d
    set status = 'discarded', resolved_by = v_actor, resolved_reason = p_reason, resolved_at = now()
    where d.id = p_id;
    insert into ordo.dead_letter_event (dead_letter_id, namespace, kind, actor, reason, detail)
    values (p_id, v_letter.namespace, 'discarded', v_actor, p_reason, jsonb_build_object('task_id', v_letter.task_id));
end
$$;

-- Retention: deletes at most p_max resolved (requeued or discarded) letters resolved before p_before, with
-- their events, and alert events older than p_before; open letters are never deleted. Safe to run from several
-- nodes at once. Returns how many letters it deleted.
create function ordo.purge_dead_letters(p_before timestamptz, p_max integer default 1000)
    returns integer
    language plpgsql as
$$
declare
    v_count integer;
begin
    if p_before is null or p_max is null or p_max < 1 then
        raise exception 'purge_dead_letters needs a time and a positive batch size' using errcode = '22023';
    end if;
    with doomed as (
        select d.id from ordo.dead_letter d
        where d.status <> 'open' and d.resolved_at < p_before
        order by d.resolved_at
        limit p_max
        for update skip locked
    ),
    deleted as (
        delete from ordo.dead_letter d using doomed where d.id = doomed.id returning 1
    )
    select count(*)::integer into v_count from deleted;
    delete from ordo.dead_letter_event e
    where e.id in (select a.id from ordo.dead_letter_event a
                   where a.kind = 'alerted' and a.at < p_before order by a.at limit p_max);
    return v_count;
end
$$;

-- The dlq-processor's settings (mirrored by io.ordo.config.ConfigKeys). dlq.alert.<namespace>.rate/.count
-- override dlq.alert.rate/.count for one namespace.
insert into ordo.config_key (pattern, type, min_value, max_value, allowed, description) values
    ('dlq.rules', 'string', null, null, null,
     'dead-letter classification rules tried before the built-in ones: a JSON array of {"match": "<error class, * as wildcard>", "reason": "<optional>", "as": "transient|permanent|unknown"}; the first match wins'),
    ('dlq.batch_size', 'integer', 1, 10000, null, 'dead letters a dlq-processor classifies per transaction'),
    ('dlq.auto_requeue_max', 'integer', 0, 100, null,
     'how many times a step whose dead letter is classified transient is requeued automatically (0: never)'),
    ('dlq.auto_requeue_delay', 'duration', 0, 86400000, null, 'how long an automatically requeued step waits before it runs'),
    ('dlq.alert.rate', 'integer', 1, 1000000000, null, 'new dead letters of a namespace within dlq.alert.window that raise an alert'),
    ('dlq.alert.count', 'integer', 1, 1000000000, null, 'open dead letters of a namespace that raise an alert'),
    ('dlq.alert.*.rate', 'integer', 1, 1000000000, null, 'dlq.alert.rate for one namespace'),
    ('dlq.alert.*.count', 'integer', 1, 1000000000, null, 'dlq.alert.count for one namespace'),
    ('dlq.alert.window', 'duration', 1000, 86400000, null, 'the window over which the dead-letter rate is counted'),
    ('dlq.alert.cooldown', 'duration', 0, 86400000, null, 'shortest time between two alerts of one kind for one namespace'),
    ('dlq.alert.webhook', 'string', null, null, null, 'http(s) URL that alerts are POSTed to as JSON; empty for none'),
    ('dlq.retention', 'duration', 3600000, 315360000000, null, 'how long resolved (requeued or discarded) dead letters are kept'),
    ('dlq.retention_batch', 'integer', 1, 100000, null, 'resolved dead letters deleted per retention run');

-- dlq.rules and dlq.alert.webhook are strings with a shape: refuse a bad one when it is set.
create function ordo.check_dlq_config() returns trigger
    language plpgsql as
$$
declare
    v_text text := new.value #>> '{}';
    v_rules jsonb;
    v_rule jsonb;
begin
    if new.key = 'dlq.alert.webhook' then
        if v_text <> '' and v_text !~ '^https?://[^\s/?#]+[^\s]*$' then
            raise exception 'config key "dlq.alert.webhook" must be an http:// or https:// URL, or empty for none, got %',
                quote_literal(v_text) using errcode = '22023';
        end if;
    elsif new.key = 'dlq.rules' then
        begin
            v_rules := v_text::jsonb;
        exception when invalid_text_representation then
            raise exception 'config key "dlq.rules" must be a JSON array of rules, got malformed JSON' using errcode = '22023';
        end;
        if jsonb_typeof(v_rules) <> 'array' then
            raise exception 'config key "dlq.rules" must be a JSON array of rules, got %', jsonb_typeof(v_rules) using errcode = '22023';
        end if;
        for v_rule in select value from jsonb_array_elements(v_rules) loop
            if jsonb_typeof(v_rule) <> 'object' then
                raise exception 'config key "dlq.rules": each rule must be an object, got %', v_rule using errcode = '22023';
            end if;
            perform ordo.refuse_unknown_keys(v_rule, array['match', 'reason', 'as'], 'config key "dlq.rules" rule');
            if coalesce(v_rule ->> 'match', '') !~ '^[A-Za-z0-9_.$*:-]{1,200}$' or jsonb_typeof(v_rule -> 'match') <> 'string' then
                raise exception 'config key "dlq.rules": "match" must be an error class pattern of [A-Za-z0-9_.$*:-] (* matches anything), in %',
                    v_rule using errcode = '22023';
            end if;
            if v_rule ? 'reason' and (jsonb_typeof(v_rule -> 'reason') <> 'string' or length(v_rule ->> 'reason') not between 1 and 200) then
                raise exception 'config key "dlq.rules": "reason" must be a dead-letter reason such as attempts_exhausted or permanent_failure, in %',
                    v_rule using errcode = '22023';
            end if;
            if jsonb_typeof(v_rule -> 'as') is distinct from 'string' or v_rule ->> 'as' not in ('transient', 'permanent', 'unknown') then
                raise exception 'config key "dlq.rules": "as" must be transient, permanent or unknown, in %', v_rule
                    using errcode = '22023';
            end if;
        end loop;
    end if;
    return new;
end
$$;

create trigger config_dlq_check before insert or update on ordo.config
    for each row when (new.key in ('dlq.rules', 'dlq.alert.webhook')) execute function ordo.check_dlq_config();
