package io.ordo.testing;

import javax.sql.DataSource;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Wraps a DataSource so that a test sees every statement its connections execute, and may fail one before it reaches
 * the database, as a lost connection would.
 */
public final class StatementTap {
    /** Called before each execution with the statement's SQL; throwing fails that execution. */
    @FunctionalInterface
    public interface Listener {
        void beforeExecute(String sql) throws SQLException;
    }

    private StatementTap() {
    }

    public static DataSource wrap(DataSource target, Listener listener) {
        return proxy(DataSource.class, target, null, listener);
    }

    /** {@code sql}: what a prepared statement was prepared with, null for a plain one (its SQL is the argument). */
    private static <T> T proxy(Class<T> type, T target, String sql, Listener listener) {
        InvocationHandler handler = (proxy, method, args) -> {
            if (target instanceof Statement && method.getName().startsWith("execute")) {
                listener.beforeExecute(sql != null ? sql : args != null && args.length > 0 && args[0] instanceof String s ? s : "");
            }
            Object result = invoke(target, method, args);
            String prepared = args != null && args.length > 0 && args[0] instanceof String s ? s : null;
            // only what makes connections and statements is wrapped: unwrap must still reach the driver's classes
            return switch (method.getName()) {
                case "getConnection" -> proxy(Connection.class, (Connection) result, null, listener);
                case "prepareCall" -> proxy(CallableStatement.class, (CallableStatement) result, prepared, listener);
                case "prepareStatement" -> proxy(PreparedStatement.class, (PreparedStatement) result, prepared, listener);
                case "createStatement" -> proxy(Statement.class, (Statement) result, null, listener);
                default -> result;
            };
        };
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, handler));
    }

    private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
