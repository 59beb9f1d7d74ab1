package io.ordo.db;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * Plain SQL through plain JDBC, on the connection (and in the transaction) of a {@link DSLContext}: for the hot paths,
 * where jOOQ's parsing of the SQL template, its binding of arrays as escaped literals and its records cost a pass or a
 * worker's reader measurably more than the statement's own JDBC work.
 * <p>
 * Binds: {@code Long[]}, {@code Integer[]}, {@code String[]} and {@code Boolean[]} go as int8[], int4[], text[] and
 * bool[] arrays; other values as {@link PreparedStatement#setObject}; a null as an untyped text null (give it a cast in
 * the SQL). Rows come as arrays of the values pgjdbc gives, but a {@code timestamptz} is an {@link OffsetDateTime} and
 * an array a Java array ({@code text[]} a {@code String[]}), as jOOQ gave them, for {@link Columns#value(Object[], int)}.
 * A failure is thrown as jOOQ's {@link DataAccessException} holding the {@link SQLException}, as jOOQ throws it.
 */
public final class Jdbc {
    private Jdbc() {
    }

    /** The rows of the query {@code sql}. */
    public static List<Object[]> fetch(DSLContext dsl, String sql, Object... binds) {
        return fetchMany(dsl, sql, binds).getFirst();
    }

    /** The rows of each result of {@code sql}, statements separated by semicolons and sent together in one round trip. */
    public static List<List<Object[]>> fetchMany(DSLContext dsl, String sql, Object... binds) {
        return run(dsl, sql, binds, ps -> {
            List<List<Object[]>> results = new ArrayList<>();
            boolean isResultSet = ps.execute();
            while (true) {
                if (isResultSet) {
                    try (ResultSet rs = ps.getResultSet()) {
                        results.add(rows(rs));
                    }
                } else if (ps.getUpdateCount() == -1) {
                    break;
                }
                isResultSet = ps.getMoreResults();
            }
            return results;
        });
    }

    /** Runs {@code sql} (one statement or several, separated by semicolons and sent together) for its effects. */
    public static void execute(DSLContext dsl, String sql, Object... binds) {
        run(dsl, sql, binds, ps -> {
            ps.execute();
            while (ps.getMoreResults() || ps.getUpdateCount() != -1) {
                // drain every result, so that a failing statement among them is thrown here
            }
            return null;
        });
    }

    @FunctionalInterface
    private interface Body<T> {
        T run(PreparedStatement statement) throws SQLException;
    }

    private static <T> T run(DSLContext dsl, String sql, Object[] binds, Body<T> body) {
        return dsl.connectionResult(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (int i = 0; i < binds.length; i++) {
                    bind(c, ps, i + 1, binds[i]);
                }
                return body.run(ps);
            } catch (SQLException e) {
                throw new DataAccessException(e.getMessage(), e);
            }
        });
    }

    private static void bind(Connection c, PreparedStatement ps, int index, Object value) throws SQLException {
        switch (value) {
            case null -> ps.setNull(index, Types.VARCHAR);
            case Long[] a -> ps.setArray(index, c.createArrayOf("int8", a));
            case Integer[] a -> ps.setArray(index, c.createArrayOf("int4", a));
            case String[] a -> ps.setArray(index, c.createArrayOf("text", a));
            case Boolean[] a -> ps.setArray(index, c.createArrayOf("bool", a));
            default -> ps.setObject(index, value);
        }
    }

    private static List<Object[]> rows(ResultSet rs) throws SQLException {
        ResultSetMetaData meta = rs.getMetaData();
        int n = meta.getColumnCount();
        boolean[] timestamptz = new boolean[n];
        boolean[] array = new boolean[n];
        for (int i = 0; i < n; i++) {
            timestamptz[i] = "timestamptz".equals(meta.getColumnTypeName(i + 1));
            array[i] = meta.getColumnType(i + 1) == Types.ARRAY;
        }
        List<Object[]> out = new ArrayList<>();
        while (rs.next()) {
            Object[] row = new Object[n];
            for (int i = 0; i < n; i++) {
                if (timestamptz[i]) {
                    row[i] = rs.getObject(i + 1, OffsetDateTime.class);
                } else if (array[i]) {
                    java.sql.Array a = rs.getArray(i + 1);
                    row[i] = a == null ? null : a.getArray();
                } else {
                    row[i] = rs.getObject(i + 1);
                }
            }
            out.add(row);
        }
        return out;
    }
}
