package io.ordo.engine;

import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Functions that turn a plan type off also run without JIT (V27). With {@code enable_seqscan = off} a plan
 * that cannot avoid a sequential scan (enforce_step_timeouts reads the shortest timeout off ordo.template_step) costs
 * more than 10^10, far over {@code jit_above_cost}: on a server built with LLVM each run then compiled its plan,
 * 0.3–0.6 s of CPU for every leader interval's timeout check.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class PlansWithoutJitTest {

    @Test
    void every_function_that_turns_a_plan_type_off_turns_jit_off(TestDatabase db) {
        DSLContext dsl = db.dsl();
        // any enable_* = off adds the same disabling cost to the plans it cannot avoid
        String planTypeOff = """
                select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname = 'ordo' and exists (select 1 from unnest(p.proconfig) c where c like 'enable\\_%=off')""";
        List<String> indexOnly = dsl.fetch(planTypeOff + " order by 1").getValues(0, String.class);
        assertThat(indexOnly).as("functions planned with a plan type off")
                .contains("ordo.enforce_step_timeouts(integer)", "ordo.submit_task(text,text,text,jsonb,jsonb)", "ordo.lock_batch(text,integer)");
        List<String> compiling = dsl.fetch(planTypeOff + " and not coalesce('jit=off' = any (p.proconfig), false) order by 1")
                .getValues(0, String.class);
        assertThat(compiling).as("functions planned with a plan type off that may JIT-compile their plans").isEmpty();
    }

    @Test
    void the_leader_duties_and_a_submission_compile_no_plan_on_a_server_with_jit(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("jit", "job", "1", List.of(
                EngineFixture.step("a", "h", List.of(), "\"timeout\":\"60s\""), EngineFixture.step("b", "h", List.of("a"), null))));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("select pg_jit_available()")) {
                rs.next();
                assumeTrue(rs.getBoolean(1), "this server has no JIT");
            }
            explainEveryPlan(st);
            // the check sees JIT where there is some: a statement over the same table, with sequential scans off
            st.execute("set enable_seqscan = off");
            assertThat(plansCompiled(st, "select min(timeout_ms) from ordo.template_step")).as("a plan with a disabled scan").isOne();
            st.execute("reset enable_seqscan");

            assertThat(plansCompiled(st, "select ordo.submit_task('jit', 'job', '1', '{}')")).as("plans compiled by a submission").isZero();
            st.executeQuery("select * from ordo.read_steps('jit', 60, 10)").close();
            for (String duty : List.of("ordo.enforce_step_timeouts()", "ordo.promote_due_retries()", "ordo.reclaim_expired_leases()")) {
                assertThat(plansCompiled(st, "select " + duty)).as("plans compiled by %s", duty).isZero();
            }
        }
    }

    /** Every statement's plan, nested ones included, comes back to this session as a notice (auto_explain). */
    private static void explainEveryPlan(Statement st) throws SQLException {
        try {
            st.execute("load 'auto_explain'");
        } catch (SQLException e) {
            assumeTrue(false, "auto_explain is not installed: " + e.getMessage());
        }
        st.execute("set auto_explain.log_min_duration = 0");
        st.execute("set auto_explain.log_nested_statements = on");
        st.execute("set auto_explain.log_level = notice");
        st.execute("set auto_explain.log_format = json");
    }

    /**
     * How many of the plans {@code sql} ran were JIT-compiled, read from the notices auto_explain sent. A plan is
     * explained when its portal closes: at the end of the transaction, so {@code sql} must run in one of its own.
     */
    private static int plansCompiled(Statement st, String sql) throws SQLException {
        st.clearWarnings();
        st.execute(sql);
        List<String> plans = new ArrayList<>();
        for (SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning()) {
            plans.add(w.getMessage());
        }
        assertThat(plans).as("plans explained for %s", sql).isNotEmpty();
        return (int) plans.stream().filter(p -> p.contains("\"JIT\"")).count();
    }
}
