package io.ordo.engine;

import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many tasks submitted in one transaction into a new database cost the same per task as into a full one (V25).
 * Each step inserted is checked against ordo.task by its foreign key; PostgreSQL plans that check once per session and
 * keeps the plan. Planned while ordo.task was known to be empty (analysed empty: a new install after VACUUM ANALYZE,
 * or a benchmark's first run) it scanned the whole table, so each check read every task submitted so far: quadratic
 * in a bulk submission. This class has a database of its own, so ordo.task is empty when the test analyses it.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class BulkSubmissionTest {

    private static final int TASKS = 2_000;

    @Test
    void a_bulk_submission_into_an_empty_database_checks_each_step_by_the_task_key_not_by_scanning_the_tasks(TestDatabase db)
            throws Exception {
        new TemplateRegistry(db.dsl()).register(EngineFixture.template("bulk", "two", "1", List.of(
                EngineFixture.step("a", "h", List.of(), null), EngineFixture.step("b", "h", List.of("a"), null))));
        db.dsl().execute("vacuum analyze ordo.task, ordo.step");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            try (ResultSet rs = st.executeQuery("select count(ordo.submit_task('bulk', 'two', '1', jsonb_build_object('n', i)))"
                    + " from generate_series(1, " + TASKS + ") i")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(TASKS);
            }
            // this transaction's reads of ordo.task so far, foreign key checks included
            try (ResultSet rs = st.executeQuery("select seq_tup_read from pg_stat_xact_user_tables where relid = 'ordo.task'::regclass")) {
                rs.next();
                assertThat(rs.getLong(1)).as("task rows read by sequential scans while submitting %d tasks", TASKS)
                        .isLessThan(TASKS);
            }
            c.commit();
        }
        assertThat(db.dsl().fetchValue("select count(*) from ordo.step s join ordo.task t on t.id = s.task_id where t.namespace = 'bulk'",
                Long.class)).isEqualTo(2L * TASKS);
    }
}
