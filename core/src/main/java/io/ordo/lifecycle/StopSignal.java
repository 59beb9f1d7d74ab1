package io.ordo.lifecycle;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Turns SIGTERM and SIGINT into a graceful stop that ends with exit code 0.
 * <p>
 * Left to itself, the JVM answers these signals by running its shutdown hooks and exiting with 128 + the signal
 * (143, 130), whatever the hooks did. An Ordo process instead drains on its main thread and exits 0, which is what
 * Kubernetes, docker compose and systemd read as a clean stop:
 * <pre>{@code
 * try (StopSignal stop = StopSignal.install()) {
 *     ... start ...
 *     String signal = stop.await();   // until SIGTERM or SIGINT
 *     ... drain and close ...
 * }
 * System.exit(0);
 * }</pre>
 * A second signal while draining halts the process at once with 128 + its number (an impatient Ctrl-C). Where the
 * handlers cannot be installed (a JVM started with {@code -Xrs}), a shutdown hook falls back to the JVM's own
 * sequence: it wakes {@link #await()} and waits until the drain is done, and the exit code is then the JVM's.
 * {@link #close()} puts the previous handlers back.
 */
public final class StopSignal implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(StopSignal.class.getName());
    private static final List<String> SIGNALS = List.of("TERM", "INT");

    private final CountDownLatch requested = new CountDownLatch(1);
    private final CountDownLatch done = new CountDownLatch(1);
    private final List<Installed> previous = new ArrayList<>();
    private final Thread hook;
    private volatile String received;
    private volatile boolean awaiting;

    private record Installed(sun.misc.Signal signal, sun.misc.SignalHandler handler) {
    }

    private StopSignal() {
        for (String name : SIGNALS) {
            try {
                sun.misc.Signal signal = new sun.misc.Signal(name);
                previous.add(new Installed(signal, sun.misc.Signal.handle(signal, this::onSignal)));
            } catch (IllegalArgumentException e) {
                LOG.log(System.Logger.Level.DEBUG, "cannot handle SIG" + name + " (" + e.getMessage() + "); the shutdown hook stops the process");
            }
        }
        hook = new Thread(this::onShutdown, "ordo-stop-signal");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Installs handlers for SIGTERM and SIGINT in place of the JVM's; one instance per process at a time. */
    public static StopSignal install() {
        return new StopSignal();
    }

    private void onSignal(sun.misc.Signal signal) {
        if (requested.getCount() == 0) {
            System.err.println("ordo: SIG" + signal.getName() + " again while stopping; halting now");
            Runtime.getRuntime().halt(128 + signal.getNumber());
        }
        received = "SIG" + signal.getName();
        requested.countDown();
    }

    private void onShutdown() {
        if (received == null) {
            received = "shutdown";
        }
        requested.countDown();
        if (awaiting) {
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Blocks until a stop is asked for; returns what asked ({@code SIGTERM}, {@code SIGINT} or {@code shutdown}). */
    public String await() throws InterruptedException {
        awaiting = true;
        requested.await();
        return received;
    }

    /** The drain is done: releases the fallback hook and puts the previous handlers back. */
    @Override
    public void close() {
        done.countDown();
        for (Installed i : previous) {
            sun.misc.Signal.handle(i.signal(), i.handler());
        }
        previous.clear();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down; the hook returns at once now that done is counted down
        }
    }
}
