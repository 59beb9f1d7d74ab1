package io.ordo.engine;

import org.jooq.DSLContext;

import java.time.Duration;
import java.util.Collection;

import static org.awaitility.Awaitility.await;

final class WorkflowEngineTestSupport {
    private WorkflowEngineTestSupport() {
    }

    static void awaitFinished(DSLContext dsl, Collection<Long> ids, Duration atMost) {
        Long[] array = ids.toArray(Long[]::new);
        await().atMost(atMost).pollInterval(Duration.ofMillis(50)).until(() -> dsl.fetchOne(
                "select count(*) from ordo.task where id = any (?::bigint[]) and status in ('complete', 'failed', 'cancelled')",
                (Object) array).get(0, Integer.class) == array.length);
    }
}
