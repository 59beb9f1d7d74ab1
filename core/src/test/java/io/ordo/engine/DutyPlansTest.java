package io.ordo.engine;

import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The leader's duties over steps and tasks walk their partial indexes even where ordo.step and ordo.task were
 * analysed while empty (V26): the planner then takes the tables for empty, and a duty that scanned them would read
 * every step or task at each leader interval until autovacuum analysed them again. This class has a database of its
 * own, so the tables are empty when the test analyses them.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class DutyPlansTest {

    private static final int TASKS = 300;

    @Test
    void duties_over_tables_analysed_empty_read_no_task_or_step_sequentially(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("duties", "job", "1", List.of(
                EngineFixture.step("a", "h", List.of(), "\"timeout\":\"60s\""), EngineFixture.step("b", "h", List.of("a"), null))));
        dsl.execute("vacuum analyze ordo.task, ordo.step");
        dsl.execute("select count(ordo.submit_task('duties', 'job', '1', '{}')) from generate_series(1, ?)", TASKS);
        assertThat(dsl.fetch("select * from ordo.read_steps('duties', 60, ?)", TASKS)).as("first steps started").hasSize(TASKS);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            SequentialReads before = SequentialReads.of(st);
            for (String duty : List.of("ordo.enforce_step_timeouts()", "ordo.promote_due_retries()", "ordo.reclaim_expired_leases()")) {
                try (ResultSet rs = st.executeQuery("select " + duty)) {
                    rs.next();
                    assertThat(rs.getInt(1)).as("%s finds nothing to do", duty).isZero();
                }
            }
            SequentialReads after = SequentialReads.of(st);
            assertThat(after.tasks() - before.tasks()).as("task rows read by sequential scans in the duties").isLessThan(TASKS);
            assertThat(after.steps() - before.steps()).as("step rows read by sequential scans in the duties").isLessThan(TASKS);
        }
    }
}
