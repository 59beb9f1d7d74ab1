package io.ordo.db;

import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(OrdoDatabaseExtension.class)
class KnownIsolationDataSourceTest {

    /** In a transaction that has failed the server answers nothing but ROLLBACK: a question to it fails. */
    @Test
    void a_transaction_learns_its_isolation_level_without_asking_the_server(TestDatabase db) throws Exception {
        try (Connection plain = db.connect()) {
            plain.setAutoCommit(false);
            failAStatement(plain);
            assertThatThrownBy(plain::getTransactionIsolation).isInstanceOf(SQLException.class)
                    .hasMessageContaining("current transaction is aborted");
            plain.rollback();
        }

        try (Database database = Database.connect(db.settings().withMaxPoolSize(1))) {
            int[] seen = {-1};
            assertThatThrownBy(() -> database.dsl().transaction(cfg -> cfg.dsl().connection(c -> {
                failAStatement(c);
                seen[0] = c.getTransactionIsolation();
                throw new IllegalStateException("roll back");
            }))).hasMessageContaining("roll back");
            assertThat(seen[0]).isEqualTo(Connection.TRANSACTION_READ_COMMITTED);

            // jOOQ's transactions still commit and roll back
            database.dsl().execute("create temporary table t (x int)");
            database.dsl().transaction(cfg -> cfg.dsl().execute("insert into t values (1)"));
            assertThatThrownBy(() -> database.dsl().transaction(cfg -> {
                cfg.dsl().execute("insert into t values (2)");
                throw new IllegalStateException("roll back");
            })).hasMessageContaining("roll back");
            assertThat(database.dsl().fetchValue("select string_agg(x::text, ',') from t")).isEqualTo("1");
        }
    }

    @Test
    void a_level_changed_through_the_connection_is_known_and_put_back_when_the_connection_returns(TestDatabase db) {
        try (Database database = Database.connect(db.settings().withMaxPoolSize(1))) {
            DSLContext dsl = database.dsl();
            dsl.connection(c -> {
                assertThat(serverLevel(c)).isEqualTo("read committed");
                c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
                assertThat(c.getTransactionIsolation()).isEqualTo(Connection.TRANSACTION_SERIALIZABLE);
                assertThat(serverLevel(c)).isEqualTo("serializable");
            });
            // the same session (a pool of one), handed out again at the pool's level
            dsl.connection(c -> {
                assertThat(c.getTransactionIsolation()).isEqualTo(Connection.TRANSACTION_READ_COMMITTED);
                assertThat(serverLevel(c)).isEqualTo("read committed");
            });
        }
    }

    private static void failAStatement(Connection c) {
        assertThatThrownBy(() -> {
            try (Statement st = c.createStatement()) {
                st.execute("select 1 / 0");
            }
        }).hasMessageContaining("division by zero");
    }

    private static String serverLevel(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("show transaction_isolation")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
