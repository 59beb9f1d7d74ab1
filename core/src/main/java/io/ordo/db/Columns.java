package io.ordo.db;

import org.jooq.Record;

/**
 * Reads a column of a record fetched through a plain SQL template as the type jOOQ gave it from the column's SQL type
 * ({@code bigint} a {@code Long}, {@code integer} an {@code Integer}, {@code text} a {@code String}, {@code timestamptz}
 * an {@code OffsetDateTime}, ...). {@code Record.get(int, Class)} converts the value again on every call, which the hot
 * paths (a pass reads a dozen columns of thousands of steps a second) measurably paid for.
 */
public final class Columns {
    private Columns() {
    }

    /** Column {@code index} of {@code r}, null or of the type the caller expects (else a ClassCastException). */
    @SuppressWarnings("unchecked")
    public static <T> T value(Record r, int index) {
        return (T) r.get(index);
    }

    /** Column {@code index} of a row fetched by {@link Jdbc}, null or of the type the caller expects. */
    @SuppressWarnings("unchecked")
    public static <T> T value(Object[] row, int index) {
        return (T) row[index];
    }
}
