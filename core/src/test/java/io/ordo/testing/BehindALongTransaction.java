package io.ordo.testing;

import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs work while another session's open transaction holds ROW EXCLUSIVE on a table, as any of its writers does. */
public final class BehindALongTransaction {
    private BehindALongTransaction() {
    }

    /**
     * Runs {@code work} while a transaction of its own holds {@code table} and returns what {@code work} threw, or null
     * if it finished. Work still waiting after 10 s fails the test. The holding transaction commits afterwards.
     */
    public static Throwable failureOf(TestDatabase db, String table, Runnable work) throws Exception {
        try (Connection holder = db.connect()) {
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement()) {
                st.execute("lock table " + table + " in row exclusive mode");
            }
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<?> run = pool.submit(work);
                run.get(10, TimeUnit.SECONDS);
                return null;
            } catch (ExecutionException e) {
                return e.getCause();
            } catch (TimeoutException e) {
                throw new AssertionError("still waiting for " + table + " after 10 s, behind the open transaction");
            } finally {
                pool.shutdownNow();
                holder.commit();
            }
        }
    }
}
