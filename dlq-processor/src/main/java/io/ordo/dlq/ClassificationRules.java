package io.ordo.dlq;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.InvalidInputException;
import io.ordo.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Ordered rules that classify a dead letter by its error class (and optionally its reason); the first rule that
 * matches decides, and a letter no rule matches is {@link Classification#UNKNOWN}. The config key {@code dlq.rules}
 * adds rules tried before the built-in {@link #DEFAULT}: a JSON array such as
 * {@code [{"match": "java.net.*", "as": "transient"}]}, where {@code *} in {@code match} stands for any characters.
 */
public record ClassificationRules(List<Rule> rules) {
    private static final Pattern MATCH = Pattern.compile("^[A-Za-z0-9_.$*:-]{1,200}$");

    /**
     * @param match   the error class, with {@code *} matching any run of characters
     * @param reason  the letter's reason it must also have, or null for any
     * @param as      what a match is classified as
     */
    public record Rule(String match, String reason, Classification as) {
        public Rule {
            if (match == null || !MATCH.matcher(match).matches()) {
                throw new InvalidInputException("dlq.rules: \"match\" must be an error class pattern of [A-Za-z0-9_.$*:-]"
                        + " (* matches anything), got " + (match == null ? "nothing" : "'" + match + "'"));
            }
            if (reason != null && (reason.isEmpty() || reason.length() > 200)) {
                throw new InvalidInputException("dlq.rules: \"reason\" must be 1 to 200 characters");
            }
            if (as == null) {
                throw new InvalidInputException("dlq.rules: every rule needs \"as\": transient, permanent or unknown");
            }
        }

        boolean matches(String errorClass, String letterReason) {
            if (reason != null && !reason.equals(letterReason)) {
                return false;
            }
            return glob(match).matcher(errorClass == null ? "" : errorClass).matches();
        }

        private static Pattern glob(String match) {
            StringBuilder regex = new StringBuilder();
            for (String part : match.split("\\*", -1)) {
                if (!regex.isEmpty()) {
                    regex.append(".*");
                }
                regex.append(Pattern.quote(part));
            }
            return Pattern.compile(regex.toString());
        }
    }

    /**
     * What Ordo knows about its own error classes: a worker that lost a step, a timeout or an I/O problem may
     * pass; a permanent failure, an unknown handler or an unprocessable message will not.
     */
    public static final ClassificationRules DEFAULT = new ClassificationRules(List.of(
            new Rule("UnprocessableMessage", null, Classification.PERMANENT),
            new Rule("UnknownHandler", null, Classification.PERMANENT),
            new Rule("*", "permanent_failure", Classification.PERMANENT),
            new Rule("StepTimeout", null, Classification.TRANSIENT),
            new Rule("WorkerLost", null, Classification.TRANSIENT),
            new Rule("*Timeout*", null, Classification.TRANSIENT),
            new Rule("*IOException", null, Classification.TRANSIENT),
            new Rule("*ConnectException", null, Classification.TRANSIENT),
            new Rule("*SQLTransient*", null, Classification.TRANSIENT)));

    public ClassificationRules {
        rules = List.copyOf(rules);
    }

    /** These rules, then {@code fallback}'s. */
    public ClassificationRules then(ClassificationRules fallback) {
        List<Rule> all = new ArrayList<>(rules);
        all.addAll(fallback.rules);
        return new ClassificationRules(all);
    }

    /** The classification and the rule that decided it (null when none matched). */
    public record Decision(Classification classification, Rule rule) {
    }

    public Decision classify(String errorClass, String reason) {
        for (Rule r : rules) {
            if (r.matches(errorClass, reason)) {
                return new Decision(r.as(), r);
            }
        }
        return new Decision(Classification.UNKNOWN, null);
    }

    /** Parses the value of {@code dlq.rules}; names the problem when it is malformed. */
    public static ClassificationRules parse(String json) {
        JsonNode root;
        try {
            root = Json.parse(json);
        } catch (InvalidInputException e) {
            throw new InvalidInputException("dlq.rules: " + e.getMessage(), e);
        }
        if (root == null || !root.isArray()) {
            throw new InvalidInputException("dlq.rules must be a JSON array of rules");
        }
        List<Rule> out = new ArrayList<>();
        for (JsonNode r : root) {
            if (!r.isObject()) {
                throw new InvalidInputException("dlq.rules: each rule must be an object, got " + r);
            }
            r.fieldNames().forEachRemaining(f -> {
                if (!Set.of("match", "reason", "as").contains(f)) {
                    throw new InvalidInputException("dlq.rules: unknown field '" + f + "' in " + r + "; allowed: match, reason, as");
                }
            });
            String as = text(r, "as");
            if (as == null) {
                throw new InvalidInputException("dlq.rules: every rule needs \"as\": transient, permanent or unknown, in " + r);
            }
            if (!Set.of("transient", "permanent", "unknown").contains(as)) {
                throw new InvalidInputException("dlq.rules: \"as\" must be transient, permanent or unknown, got '" + as + "'");
            }
            out.add(new Rule(text(r, "match"), text(r, "reason"), Classification.of(as)));
        }
        return new ClassificationRules(out);
    }

    private static String text(JsonNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new InvalidInputException("dlq.rules: \"" + field + "\" must be a string, in " + r);
        }
        return v.asText();
    }
}
