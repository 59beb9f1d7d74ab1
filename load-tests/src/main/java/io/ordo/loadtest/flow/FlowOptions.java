package io.ordo.loadtest.flow;

import io.ordo.InvalidInputException;
import io.ordo.loadtest.cluster.Topology;

import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The options every full-path scenario takes; each scenario reads those it needs.
 *
 * @param tasks        burn-down: tasks submitted up front
 * @param steps        shapes: steps per shape (tasks = steps / steps per task)
 * @param rate         steady: tasks per second offered
 * @param seconds      steady: how long
 * @param submitters   steady: submitting threads
 * @param shapes       the shapes to run
 * @param topology     nodes and their tuning
 * @param topologies   topology scenario: the node counts to run ({@code 1x1,2x2})
 * @param sleeps       handlers scenario: handler sleeps in ms (0 is a no-op); others use the first
 * @param latencyTasks latency: tasks run one at a time
 * @param namespace    the benchmark namespace
 * @param ceilingSeconds measured seconds of each raw-SQL ceiling figure (before and after the runs)
 * @param warmupSteps  steps of each warm-up burn-down per shape, run first and not reported, until the JIT has
 *                     compiled the nodes' code (0: none)
 * @param out          where the JSON lines also go
 */
record FlowOptions(int tasks, int steps, double rate, int seconds, int submitters, List<Shape> shapes, Topology topology,
                   List<int[]> topologies, List<Integer> sleeps, int latencyTasks, String namespace, int ceilingSeconds, int warmupSteps, Path out) {

    FlowOptions {
        range("--tasks", tasks, 1, 10_000_000);
        range("--steps", steps, 1, 10_000_000);
        if (!(rate > 0 && rate <= 1_000_000)) {
            throw new InvalidInputException("--rate must be between 0 and 1000000 tasks per second, got " + rate);
        }
        range("--seconds", seconds, 1, 3600);
        range("--submitters", submitters, 1, 64);
        range("--latency-tasks", latencyTasks, 1, 100_000);
        range("--ceiling-seconds", ceilingSeconds, 1, 600);
        range("--warmup-steps", warmupSteps, 0, 1_000_000);
        for (int s : sleeps) {
            range("--sleep-ms", s, 0, 600_000);
        }
        if (shapes.isEmpty() || sleeps.isEmpty() || topologies.isEmpty()) {
            throw new InvalidInputException("--shape, --sleep-ms and --topologies need at least one value");
        }
        if (namespace == null || !namespace.matches("[a-z][a-z0-9_]{0,39}")) {
            throw new InvalidInputException("--namespace must match ^[a-z][a-z0-9_]{0,39}$, got " + namespace);
        }
    }

    static FlowOptions parse(String scenario, String[] args) {
        int tasks = 50_000;
        int steps = 48_000;
        double rate = 1000;
        int seconds = 20;
        int submitters = 8;
        List<Shape> shapes = switch (scenario) {
            case "shapes" -> List.of(Shape.ONE, Shape.CHAIN10, Shape.FANOUT);
            case "latency" -> List.of(Shape.CHAIN3);
            default -> List.of(Shape.ONE);
        };
        int orchestrators = 1;
        int workers = 1;
        boolean processes = false;
        Topology base = Topology.defaults();
        int concurrency = base.workerConcurrency();
        int workerBatch = base.workerBatch();
        int orchestratorBatch = base.orchestratorBatch();
        List<int[]> topologies = List.of(new int[] {1, 1}, new int[] {1, 2}, new int[] {2, 2}, new int[] {2, 4});
        List<Integer> sleeps = scenario.equals("handlers") ? List.of(0, 5, 50) : List.of(0);
        int latencyTasks = 200;
        String namespace = "bench";
        int ceilingSeconds = 5;
        int warmupSteps = 20_000;
        Path out = Path.of("target", "bench",
                scenario + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".jsonl");
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (option.equals("--processes")) {
                processes = true;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new InvalidInputException(option + ": unknown option or missing value; see ./ordo bench " + scenario + " --help");
            }
            String value = args[++i];
            switch (option) {
                case "--tasks" -> tasks = number(option, value);
                case "--steps" -> steps = number(option, value);
                case "--rate" -> rate = decimal(option, value);
                case "--seconds" -> seconds = number(option, value);
                case "--submitters" -> submitters = number(option, value);
                case "--shape", "--shapes" -> shapes = list(value).stream().map(Shape::of).distinct().toList();
                case "--orchestrators" -> orchestrators = number(option, value);
                case "--workers" -> workers = number(option, value);
                case "--concurrency" -> concurrency = number(option, value);
                case "--worker-batch" -> workerBatch = number(option, value);
                case "--orchestrator-batch" -> orchestratorBatch = number(option, value);
                case "--topologies" -> topologies = list(value).stream().map(FlowOptions::nodes).toList();
                case "--sleep-ms" -> sleeps = list(value).stream().map(v -> number(option, v)).toList();
                case "--latency-tasks" -> latencyTasks = number(option, value);
                case "--namespace" -> namespace = value;
                case "--ceiling-seconds" -> ceilingSeconds = number(option, value);
                case "--warmup-steps" -> warmupSteps = number(option, value);
                case "--out" -> out = Path.of(value);
                default -> throw new InvalidInputException("unknown option " + option + "; see ./ordo bench " + scenario + " --help");
            }
        }
        Topology topology = new Topology(orchestrators, workers, processes, concurrency, workerBatch, orchestratorBatch,
                base.visibilityTimeout());
        return new FlowOptions(tasks, steps, rate, seconds, submitters, shapes, topology, topologies, sleeps, latencyTasks,
                namespace, ceilingSeconds, warmupSteps, out);
    }

    static String usage(String scenario) {
        return """
                  --shape LIST            one, chain3, chain10, fanout (1 -> 10 -> 1)
                  --orchestrators N       orchestrator nodes (default 1)
                  --workers N             worker nodes (default 1)
                  --processes             run every node as a JVM of its own instead of in this one
                  --concurrency N         handlers per worker (default 200)
                  --worker-batch N        steps a worker reads per call (default 100)
                  --orchestrator-batch N  orchestration messages per pass (default 200)
                  --sleep-ms LIST         what the handler does: 0 is a no-op, else it sleeps that long (default 0)
                  --namespace NAME        the benchmark namespace (default bench)
                  --ceiling-seconds N     seconds each raw-SQL ceiling figure is measured, before and after (default 5)
                  --warmup-steps N        steps per warm-up round and shape, burnt down first and not reported, until the JIT
                                          is quiet (at most 6 rounds; default 20,000; 0: no warm-up)
                  --out FILE              also write the JSON lines here (default target/bench/%s-<time>.jsonl)
                """.formatted(scenario);
    }

    private static List<String> list(String value) {
        return Arrays.stream(value.split(",")).map(String::strip).filter(v -> !v.isEmpty()).toList();
    }

    private static int[] nodes(String value) {
        String[] parts = value.toLowerCase(Locale.ROOT).split("x");
        if (parts.length != 2) {
            throw new InvalidInputException("--topologies takes ORCHESTRATORSxWORKERS, e.g. 1x2, got '" + value + "'");
        }
        return new int[] {number("--topologies", parts[0]), number("--topologies", parts[1])};
    }

    private static int number(String option, String value) {
        try {
            return Integer.parseInt(value.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new InvalidInputException(option + " needs a whole number, got '" + value + "'");
        }
    }

    private static double decimal(String option, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new InvalidInputException(option + " needs a number, got '" + value + "'");
        }
    }

    private static void range(String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new InvalidInputException(option + " must be between " + min + " and " + max + ", got " + value);
        }
    }

    /** The topologies of the topology scenario, with this run's tuning. */
    List<Topology> topologyList() {
        List<Topology> out = new ArrayList<>();
        for (int[] t : topologies) {
            out.add(topology.withNodes(t[0], t[1]));
        }
        return out;
    }
}
