package io.ordo.dlq;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ordo.InvalidInputException;
import io.ordo.Json;

import java.time.Instant;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which dead letters a list or a bulk requeue is about. Every field is optional (null: any).
 *
 * @param classification  transient, permanent, unknown, or {@code unclassified} for letters not classified yet
 * @param from            dead-lettered at or after
 * @param to              dead-lettered before
 */
public record DeadLetterFilter(String namespace, String template, String step, String errorClass, String classification,
                               DeadLetterStatus status, Long taskId, Instant from, Instant to) {
    public static final DeadLetterFilter ANY = new DeadLetterFilter(null, null, null, null, null, null, null, null, null);
    private static final Pattern NAMESPACE = Pattern.compile("^[a-z][a-z0-9_]{0,39}$");
    private static final Pattern NAME = Pattern.compile("^[a-z][a-z0-9_]{0,63}$");
    private static final Pattern ERROR_CLASS = Pattern.compile("^[A-Za-z0-9_.$:-]{1,200}$");
    private static final Set<String> CLASSIFICATIONS = Set.of("transient", "permanent", "unknown", "unclassified");

    public DeadLetterFilter {
        check("namespace", namespace, NAMESPACE);
        check("template", template, NAME);
        check("step", step, NAME);
        check("error_class", errorClass, ERROR_CLASS);
        if (classification != null && !CLASSIFICATIONS.contains(classification)) {
            throw new InvalidInputException("classification must be transient, permanent, unknown or unclassified, got '"
                    + classification + "'");
        }
        if (from != null && to != null && !from.isBefore(to)) {
            throw new InvalidInputException("from must be before to, got " + from + " and " + to);
        }
    }

    public DeadLetterFilter withStatus(DeadLetterStatus newStatus) {
        return new DeadLetterFilter(namespace, template, step, errorClass, classification, newStatus, taskId, from, to);
    }

    /** The filter as {@code ordo.find_dead_letters} takes it. */
    public String toJson() {
        ObjectNode o = Json.object();
        put(o, "namespace", namespace);
        put(o, "template", template);
        put(o, "step", step);
        put(o, "error_class", errorClass);
        put(o, "classification", classification);
        put(o, "status", status == null ? null : status.label());
        if (taskId != null) {
            o.put("task_id", taskId);
        }
        put(o, "from", from == null ? null : from.toString());
        put(o, "to", to == null ? null : to.toString());
        return o.toString();
    }

    private static void put(ObjectNode o, String key, String value) {
        if (value != null) {
            o.put(key, value);
        }
    }

    private static void check(String field, String value, Pattern pattern) {
        if (value != null && !pattern.matcher(value).matches()) {
            throw new InvalidInputException(field + " must match " + pattern.pattern() + ", got '"
                    + value.substring(0, Math.min(value.length(), 100)) + "'");
        }
    }
}
