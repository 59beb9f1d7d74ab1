package io.ordo.loadtest.flow;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU time spent during a run, where it can be read: the database sessions of the run's nodes (their backends'
 * {@code /proc/<pid>/stat}, so only when PostgreSQL runs on this machine and is readable) grouped by role, the sessions
 * that submit the tasks, and this JVM or the node processes. CPU per task does not depend on what else the machine
 * runs, unlike throughput, so it is the figure to compare between runs on a noisy machine.
 */
final class CpuAccount {
    private static final double TICK_SECONDS = 0.01; // USER_HZ is 100 on Linux

    private final String applicationPrefix;
    private final String submitters;
    private final List<Long> nodePids;
    private final Map<Integer, Long> backendStart = new HashMap<>();
    private final Map<Integer, String> backendRole = new HashMap<>();
    private final long jvmStart;
    private final Map<Long, Long> threadStart = new HashMap<>();
    private final Map<Long, Long> nodeStart = new HashMap<>();
    private final Map<String, Double> endedThreads = new HashMap<>();
    private boolean readable = true;

    private CpuAccount(String applicationPrefix, String submitters, List<Long> nodePids) {
        this.applicationPrefix = applicationPrefix;
        this.submitters = submitters;
        this.nodePids = nodePids;
        this.jvmStart = jvmCpuNanos();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (long id : threads.getAllThreadIds()) {
            threadStart.put(id, threads.getThreadCpuTime(id));
        }
        nodePids.forEach(pid -> nodeStart.put(pid, processTicks(pid)));
    }

    /**
     * Starts counting for the sessions whose application_name contains {@code applicationPrefix} (the nodes'), and those
     * named {@code submitters}.
     */
    static CpuAccount start(Connection c, String applicationPrefix, String submitters, List<Long> nodePids) throws SQLException {
        CpuAccount account = new CpuAccount(applicationPrefix, submitters, nodePids);
        account.scan(c, true);
        return account;
    }

    private void scan(Connection c, boolean first) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select pid, application_name from pg_stat_activity where datname = current_database()"
                        + " and (application_name like ? or application_name = ?)")) {
            ps.setString(1, "%" + applicationPrefix + "%");
            ps.setString(2, submitters);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int pid = rs.getInt(1);
                    if (!backendRole.containsKey(pid)) {
                        backendRole.put(pid, rs.getString(2).equals(submitters) ? "submitters" : role(rs.getString(2)));
                        long ticks = processTicks(pid);
                        if (ticks < 0) {
                            readable = false;
                        }
                        backendStart.put(pid, first ? ticks : 0L);
                    }
                }
            }
        }
    }

    private static String role(String applicationName) {
        return applicationName.contains("-orch-") ? "orchestrators" : applicationName.contains("-worker-") ? "workers" : "other";
    }

    /**
     * Counts {@code seconds} of CPU, spent since the start by threads of this JVM that have ended, in the share of
     * {@code group}: the JVM cannot be asked about a thread that ended, whose time would otherwise count as internal.
     */
    void endedThreads(String group, double seconds) {
        endedThreads.merge(group, seconds, Double::sum);
    }

    /**
     * CPU seconds since the start: {@code db_orchestrators}, {@code db_workers}, {@code db_other}, {@code db_submitters}
     * and {@code nodes} (this JVM, or the node processes); empty when the backends cannot be read.
     */
    Map<String, Double> stop(Connection c) throws SQLException {
        scan(c, false);
        Map<String, Double> out = new LinkedHashMap<>();
        if (!readable) {
            return out;
        }
        out.put("db_orchestrators", 0.0);
        out.put("db_workers", 0.0);
        out.put("db_other", 0.0);
        out.put("db_submitters", 0.0);
        backendStart.forEach((pid, start) -> {
            long now = processTicks(pid);
            if (now >= 0) {
                out.merge("db_" + backendRole.get(pid), (now - start) * TICK_SECONDS, Double::sum);
            }
        });
        if (nodePids.isEmpty()) {
            double total = (jvmCpuNanos() - jvmStart) / 1e9;
            out.put("nodes", total);
            // this JVM's share by thread: the engine's loops, the workers' reader, hand-off and step threads (virtual
            // threads run on the ForkJoinPool carriers), the benchmark itself, and the rest (JIT compiler, GC)
            Map<String, Double> byThread = new LinkedHashMap<>();
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
                if (info == null) {
                    continue;
                }
                long cpu = threads.getThreadCpuTime(info.getThreadId());
                if (cpu < 0) {
                    continue;
                }
                double seconds = (cpu - threadStart.getOrDefault(info.getThreadId(), 0L)) / 1e9;
                byThread.merge(threadGroup(info.getThreadName()), seconds, Double::sum);
            }
            endedThreads.forEach((group, seconds) -> byThread.merge(group, seconds, Double::sum));
            double accounted = byThread.values().stream().mapToDouble(Double::doubleValue).sum();
            byThread.forEach((k, v) -> out.put("jvm_" + k, v));
            out.put("jvm_internal", Math.max(0, total - accounted));
        } else {
            double seconds = 0;
            for (long pid : nodePids) {
                long now = processTicks(pid);
                if (now >= 0) {
                    seconds += (now - nodeStart.get(pid)) * TICK_SECONDS;
                }
            }
            out.put("nodes", seconds);
        }
        return out;
    }

    private static String threadGroup(String name) {
        if (name.startsWith("ordo-orchestrator") || name.startsWith("ordo-leader")) {
            return "orchestrators";
        }
        if (name.startsWith("ordo-worker") || name.startsWith("ForkJoinPool")) {
            return "workers";
        }
        if (name.startsWith("ordo-") || name.contains("connection-") || name.contains("housekeeper")) {
            return "listeners_pools";
        }
        return "bench";
    }

    private static long jvmCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** utime + stime of a process in clock ticks, or -1 when it cannot be read. */
    private static long processTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields after "(comm) ": state is index 0, utime is field 14 of the whole line (index 11 here)
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
