package io.ordo.loadtest;

import io.ordo.loadtest.chaos.ChaosBenchmark;
import io.ordo.loadtest.flow.FlowBenchmark;
import io.ordo.loadtest.queue.QueueBenchmark;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code ./ordo bench}: dispatches to the benchmark scenarios. */
public final class BenchCommand {
    private BenchCommand() {
    }

    /** A benchmark scenario: a name, one line about it, and its entry point returning an exit code. */
    private record Scenario(String name, String summary, Main main) {
    }

    @FunctionalInterface
    private interface Main {
        int run(String[] args) throws Exception;
    }

    private static final Map<String, Scenario> SCENARIOS = new LinkedHashMap<>();

    static {
        add(new Scenario(QueueBenchmark.NAME, QueueBenchmark.SUMMARY, QueueBenchmark::run));
        for (FlowBenchmark.Scenario s : FlowBenchmark.Scenario.values()) {
            add(new Scenario(s.key(), s.summary(), s::run));
        }
        add(new Scenario(ChaosBenchmark.NAME, ChaosBenchmark.SUMMARY, ChaosBenchmark::run));
    }

    private static void add(Scenario scenario) {
        SCENARIOS.put(scenario.name(), scenario);
    }

    public static int run(String[] args) throws Exception {
        // stdout carries the figures: no jOOQ banner, no INFO chatter from Flyway and Hikari
        System.setProperty("org.jooq.no-logo", "true");
        System.setProperty("org.jooq.no-tips", "true");
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        if (args.length == 0) {
            usage(System.err);
            return 2;
        }
        if (args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            usage(System.out);
            return 0;
        }
        Scenario scenario = SCENARIOS.get(args[0]);
        if (scenario == null) {
            System.err.println("ordo bench: unknown scenario '" + args[0] + "'; scenarios: " + String.join(", ", SCENARIOS.keySet()));
            return 2;
        }
        return scenario.main().run(Arrays.copyOfRange(args, 1, args.length));
    }

    private static void usage(PrintStream out) {
        out.println("usage: ./ordo bench <scenario> [options]   (./ordo bench <scenario> --help for its options)");
        out.println();
        out.println("scenarios:");
        for (Scenario s : SCENARIOS.values()) {
            out.printf("  %-10s %s%n", s.name(), s.summary());
        }
        out.println();
        out.println("Runs against ORDO_DATABASE_URL if set, else a fresh embedded PostgreSQL.");
    }
}
