package io.ordo.loadtest;

/** {@code ./ordo bench}: dispatches to the benchmark scenarios. */
public final class BenchCommand {
    private BenchCommand() {
    }

    public static int run(String[] args) {
        System.err.println("ordo bench: no scenarios yet");
        return 2;
    }
}
