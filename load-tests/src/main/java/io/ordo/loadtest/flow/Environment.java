package io.ordo.loadtest.flow;

import org.jooq.DSLContext;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JVM and database settings a benchmark ran with, as reported beside its figures. */
record Environment(Map<String, Object> values) {
    private static final List<String> SETTINGS = List.of("shared_buffers", "synchronous_commit", "fsync", "max_connections",
            "wal_level", "full_page_writes", "work_mem", "max_wal_size", "autovacuum");

    static Environment capture(DSLContext dsl, String databaseDescription) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("jvm", Runtime.version().toString() + " (" + System.getProperty("java.vm.name") + ")");
        v.put("jvm_max_heap_mb", Runtime.getRuntime().maxMemory() / (1024 * 1024));
        v.put("jvm_gc", String.join(",", ManagementFactory.getGarbageCollectorMXBeans().stream().map(b -> b.getName()).toList()));
        v.put("cpus", Runtime.getRuntime().availableProcessors());
        v.put("database", databaseDescription);
        v.put("postgres", dsl.fetchOne("show server_version").get(0, String.class));
        for (String s : SETTINGS) {
            v.put(s, dsl.fetchOne("select current_setting(?)", s).get(0, String.class));
        }
        return new Environment(v);
    }

    String summary() {
        return "JVM " + values.get("jvm") + ", heap " + values.get("jvm_max_heap_mb") + " MB, collectors " + values.get("jvm_gc") + ", "
                + values.get("cpus") + " CPUs; "
                + "PostgreSQL " + values.get("postgres") + " (" + values.get("database") + "): shared_buffers "
                + values.get("shared_buffers") + ", synchronous_commit " + values.get("synchronous_commit") + ", fsync "
                + values.get("fsync") + ", max_connections " + values.get("max_connections");
    }
}
