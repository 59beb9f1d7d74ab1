package io.ordo.loadtest.flow;

import io.ordo.InvalidInputException;
import io.ordo.loadtest.cluster.BenchHandlers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** The DAG of a benchmark template; every step runs the {@link BenchHandlers#HANDLER} handler. */
public enum Shape {
    /** one step */
    ONE("one", 1),
    /** a chain of 3 steps: the idle-latency task */
    CHAIN3("chain3", 3),
    /** a chain of 10 steps */
    CHAIN10("chain10", 10),
    /** a fan-out 1 → 10 → 1 */
    FANOUT("fanout", 12);

    final String key;
    final int steps;

    Shape(String key, int steps) {
        this.key = key;
        this.steps = steps;
    }

    public String key() {
        return key;
    }

    public int steps() {
        return steps;
    }

    public static Shape of(String key) {
        for (Shape s : values()) {
            if (s.key.equals(key.toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        throw new InvalidInputException("unknown shape '" + key + "'; allowed: "
                + Arrays.stream(values()).map(s -> s.key).collect(Collectors.joining(", ")));
    }

    /** The template's name: {@code bench_<shape>}. */
    public String template() {
        return "bench_" + key;
    }

    /** The first step (the one whose start counts as the task's first step start). */
    String firstStep() {
        return this == FANOUT ? "split" : "s1";
    }

    /**
     * The template as JSON. Retries are quick and plentiful (10 attempts, 100 ms to 1 s backoff) so that the chaos
     * scenario's kills, which cost a step an attempt each, do not dead-letter it.
     */
    public String templateJson(String namespace) {
        List<String> steps = new ArrayList<>();
        switch (this) {
            case ONE, CHAIN3, CHAIN10 -> {
                for (int i = 1; i <= this.steps; i++) {
                    steps.add(step("s" + i, i == 1 ? List.of() : List.of("s" + (i - 1))));
                }
            }
            case FANOUT -> {
                steps.add(step("split", List.of()));
                List<String> branches = new ArrayList<>();
                for (int i = 1; i <= 10; i++) {
                    branches.add("f" + i);
                    steps.add(step("f" + i, List.of("split")));
                }
                steps.add(step("join", branches));
            }
        }
        return "{\"namespace\":\"" + namespace + "\",\"name\":\"" + template() + "\",\"version\":\"1\",\"steps\":["
                + String.join(",", steps) + "]}";
    }

    private static String step(String name, List<String> dependsOn) {
        String deps = dependsOn.stream().map(d -> "\"" + d + "\"").collect(Collectors.joining(","));
        return "{\"name\":\"" + name + "\",\"handler\":\"" + BenchHandlers.HANDLER + "\",\"depends_on\":[" + deps + "],"
                + "\"retry\":{\"max_attempts\":10,\"backoff\":{\"initial\":\"100ms\",\"max\":\"1s\"}}}";
    }
}
