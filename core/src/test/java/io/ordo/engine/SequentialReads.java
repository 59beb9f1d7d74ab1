package io.ordo.engine;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Rows of ordo.task and ordo.step read by sequential scans, as a session counts them (PassPlansTest, DutyPlansTest). */
record SequentialReads(long tasks, long steps) {

    /**
     * The counts so far, this session's own flushed first. A backend's own counts reach pg_stat_user_tables at once
     * only through pg_stat_force_next_flush, which PostgreSQL 15 brings: on older servers the calling test is skipped.
     */
    static SequentialReads of(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("show server_version_num")) {
            rs.next();
            assumeTrue(rs.getInt(1) >= 150000, "pg_stat_force_next_flush needs PostgreSQL 15");
        }
        st.execute("select pg_stat_force_next_flush()");
        try (ResultSet rs = st.executeQuery("""
                select coalesce(sum(seq_tup_read) filter (where relname = 'task'), 0),
                       coalesce(sum(seq_tup_read) filter (where relname = 'step'), 0)
                from pg_stat_user_tables where schemaname = 'ordo'""")) {
            rs.next();
            return new SequentialReads(rs.getLong(1), rs.getLong(2));
        }
    }
}
