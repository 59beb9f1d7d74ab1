#!/usr/bin/env bash
# Database time of the worker SQL API, before and after V14, side by side in one database.
#
# Installs the V10 ordo.read_steps and the V13 ordo.complete_steps beside the current ones (as read_steps_old and
# complete_steps_old), fills a namespace with enqueued 1-step tasks, and times a cycle (read k steps, hand their
# results back, in one transaction) with pgbench on one connection: no orchestrator, no JVM, nothing else running.
# The two versions alternate and each run starts from a vacuumed queue.
#
# usage: load-tests/sql/worker-calls-ab.sh [k ...]     (default: 1 4 50)
# needs: psql and pgbench on PATH or under /usr/lib/postgresql/*/bin, a server at PGHOST (default 127.0.0.1) as
#        PGUSER (default postgres) that may create the database ordo_worker_ab, and the launcher (./ordo migrate).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PGHOST="${PGHOST:-127.0.0.1}" PGUSER="${PGUSER:-postgres}"
export PGOPTIONS="${PGOPTIONS:-} -c pg_stat_statements.track=none"
DB=ordo_worker_ab
BIN="$(dirname "$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)")"
if [ $# -gt 0 ]; then KS=("$@"); else KS=(1 4 50); fi

"$BIN/psql" -qX -d postgres -c "drop database if exists $DB" -c "create database $DB"
ORDO_DATABASE_URL="jdbc:postgresql://$PGHOST:5432/$DB?user=$PGUSER" "$ROOT/ordo" migrate >/dev/null

# the functions as V10 and V13 left them, renamed
python3 - "$ROOT" > /tmp/ordo-worker-ab-old.sql <<'PY'
import sys
root = sys.argv[1] + '/db/migration/'
def function(file, name):
    src = open(root + file).read()
    start = src.index('create or replace function ordo.' + name + '(')
    body = src.index('$$', start)
    end = src.index('$$;', body + 2) + 3
    return src[start:end].replace('ordo.' + name + '(', 'ordo.' + name + '_old(').replace(name + '.', name + '_old.')
print(function('V10__hot_path.sql', 'read_steps'))
print(function('V13__message_lookups_by_primary_key.sql', 'complete_steps'))
PY
"$BIN/psql" -qX -d $DB -v ON_ERROR_STOP=1 -f /tmp/ordo-worker-ab-old.sql
"$BIN/psql" -qX -d $DB -v ON_ERROR_STOP=1 <<'SQL'
select ordo.create_namespace('ab');
select ordo.register_template('{"namespace":"ab","name":"one","version":"1","steps":[{"name":"a","handler":"h","depends_on":[]}]}');
select count(ordo.submit_task('ab', 'one', '1', '{"customer": 12345, "items": [1, 2, 3]}', '{}')) from generate_series(1, 120000);
-- what an orchestrator does for each: the step enqueued with its message
with s as (select id, task_id from ordo.step where status = 'pending'),
     m as (select s.id, ordo.send('ns_ab', jsonb_build_object('task_id', s.task_id, 'step_id', s.id, 'attempt', 1,
                                                             'handler', 'h', 'step', 'a')) as msg from s)
update ordo.step st set status = 'enqueued', attempt = 1, msg_id = m.msg from m where st.id = m.id;
delete from ordo.message where queue_name = 'orchestration';
create function public.ab_cycle(old boolean, k integer) returns integer language plpgsql as $$
declare
    r record;
    results jsonb[] := '{}';
begin
    if old then
        for r in select msg_id, step_id, attempt from ordo.read_steps_old('ab', 30, k) loop
            results := results || jsonb_build_object('msg_id', r.msg_id, 'step_id', r.step_id, 'attempt', r.attempt,
                                                     'status', 'succeeded', 'result', '{}'::jsonb);
        end loop;
        perform ordo.complete_steps_old('ab', results);
    else
        for r in select msg_id, step_id, attempt from ordo.read_steps('ab', 30, k) loop
            results := results || jsonb_build_object('msg_id', r.msg_id, 'step_id', r.step_id, 'attempt', r.attempt,
                                                     'status', 'succeeded', 'result', '{}'::jsonb);
        end loop;
        perform ordo.complete_steps('ab', results);
    end if;
    return cardinality(results);
end
$$;
SQL
"$BIN/psql" -qX -d $DB -c "vacuum analyze"
echo 'select public.ab_cycle(true, :k);' > /tmp/ordo-worker-ab-old.pgbench
echo 'select public.ab_cycle(false, :k);' > /tmp/ordo-worker-ab-new.pgbench

printf '%-4s %-7s %s\n' k version "ms per cycle (read k steps + hand back their results)"
for k in "${KS[@]}"; do
    cycles=$(( 4000 / k < 80 ? 80 : 4000 / k ))
    for round in 1 2; do
        for version in new old; do
            "$BIN/psql" -qX -d $DB -c "vacuum ordo.q_ns_ab, ordo.q_orchestration, ordo.step, ordo.transition"
            ms=$("$BIN/pgbench" -n -M prepared -c 1 -t "$cycles" -D k="$k" -f /tmp/ordo-worker-ab-$version.pgbench $DB 2>/dev/null \
                 | awk '/latency average/ {print $4}')
            printf '%-4s %-7s %s\n' "$k" "$version" "$ms"
        done
    done
done
