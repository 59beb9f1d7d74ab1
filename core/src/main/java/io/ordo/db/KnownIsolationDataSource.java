package io.ordo.db;

import javax.sql.DataSource;
import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;

/**
 * The pool as jOOQ sees it: a connection tells its isolation level without asking the server.
 * <p>
 * jOOQ's transactions read the connection's isolation level when they begin (to restore it if the transaction
 * changed it), and pgjdbc answers {@link Connection#getTransactionIsolation()} with a round trip,
 * {@code SHOW TRANSACTION ISOLATION LEVEL}: one round trip more per transaction, one in six of an orchestration
 * pass's. The pool opens every connection at {@link #LEVEL} and puts back a level changed through the connection
 * when it is returned, so a connection handed out is at that level until it is changed through it; a change made
 * with SQL ({@code SET SESSION CHARACTERISTICS}) would not be seen, and Ordo makes none.
 */
final class KnownIsolationDataSource implements DataSource {
    /** Ordo's statements are written for read committed: SKIP LOCKED claims, rows read again once locked. */
    static final int LEVEL = Connection.TRANSACTION_READ_COMMITTED;

    private final DataSource pool;

    KnownIsolationDataSource(DataSource pool) {
        this.pool = pool;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return knowingItsLevel(pool.getConnection());
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return knowingItsLevel(pool.getConnection(username, password));
    }

    private static Connection knowingItsLevel(Connection connection) {
        int[] level = {LEVEL};
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[]{Connection.class},
                (proxy, method, args) -> {
                    String name = method.getName();
                    int arity = args == null ? 0 : args.length;
                    if (name.equals("getTransactionIsolation") && arity == 0) {
                        return level[0];
                    }
                    if (name.equals("equals") && arity == 1) {
                        return proxy == args[0];
                    }
                    if (name.equals("hashCode") && arity == 0) {
                        return System.identityHashCode(proxy);
                    }
                    try {
                        Object result = method.invoke(connection, args);
                        if (name.equals("setTransactionIsolation") && arity == 1) {
                            level[0] = (Integer) args[0];
                        }
                        return result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return pool.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        pool.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        pool.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return pool.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return pool.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        return type.isInstance(this) ? type.cast(this) : pool.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return type.isInstance(this) || pool.isWrapperFor(type);
    }
}
