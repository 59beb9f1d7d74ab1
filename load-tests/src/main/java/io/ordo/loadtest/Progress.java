package io.ordo.loadtest;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar on stderr: redrawn in place on a terminal, a plain line every few seconds otherwise (a log, CI).
 */
public final class Progress {
    private static final int WIDTH = 30;
    private static final long LINE_EVERY_NANOS = 5_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private final String label;
    private long lastLine;
    private boolean drawn;

    public Progress(PrintStream out, String label) {
        this.out = out;
        this.terminal = System.console() != null;
        this.label = label;
    }

    /** Shows {@code done} of {@code total} and a free-form status after it. */
    public synchronized void update(long done, long total, String status) {
        double fraction = total <= 0 ? 0 : Math.min(1.0, (double) done / total);
        int filled = (int) Math.round(fraction * WIDTH);
        String line = String.format(Locale.ROOT, "%s [%s%s] %3.0f%% %,d/%,d %s", label, "#".repeat(filled),
                " ".repeat(WIDTH - filled), fraction * 100, done, total, status);
        if (terminal) {
            out.print("\r" + line + "\u001b[K");
            out.flush();
            drawn = true;
        } else if (System.nanoTime() - lastLine > LINE_EVERY_NANOS) {
            out.println(line);
            lastLine = System.nanoTime();
        }
    }

    /** Ends the bar's line. */
    public synchronized void done() {
        if (terminal && drawn) {
            out.println();
        }
        drawn = false;
    }
}
