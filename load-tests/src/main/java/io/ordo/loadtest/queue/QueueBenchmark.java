package io.ordo.loadtest.queue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.ordo.InvalidInputException;
import io.ordo.loadtest.BenchDatabase;
import io.ordo.loadtest.Throughput;
import io.ordo.loadtest.Throughput.Result;
import io.ordo.loadtest.Throughput.Worker;
import io.ordo.queue.Message;
import io.ordo.queue.QueueClient;

import javax.sql.DataSource;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code ./ordo bench queue}: the throughput of Ordo's queue through {@link QueueClient} (the SQL functions)
 * against the ceiling, the same work as plain SQL on {@code ordo.message} through raw JDBC. Each figure runs
 * on a queue of its own, after a warm-up, with a few threads that each hold their own connection (plain)
 * or share a pool (Ordo).
 */
public final class QueueBenchmark {
    public static final String NAME = "queue";
    public static final String SUMMARY =
            "send, send_batch, read+delete (batch 1 and 100): QueueClient vs plain JDBC SQL on ordo.message";

    static final String BODY = "{\"order_id\": 123456, \"sku\": \"ABC-123\", \"quantity\": 2, \"note\": \"a benchmark message\"}";
    static final Duration VISIBILITY = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What is measured; {@code key} names it in {@code --ops}, {@code op} and {@code batch} in the output. */
    enum Op {
        SEND("send", "send", 1, false, 0),
        SEND_BATCH("send_batch", "send_batch", 100, false, 0),
        READ_DELETE_1("read_delete_1", "read_delete", 1, true, 10_000),
        READ_DELETE_100("read_delete_100", "read_delete", 100, true, 100_000);

        final String key;
        final String op;
        final int batch;
        final boolean consumes;
        /** A guess of messages per second, only to size the queue for the warm-up. */
        final int guessPerSecond;

        Op(String key, String op, int batch, boolean consumes, int guessPerSecond) {
            this.key = key;
            this.op = op;
            this.batch = batch;
            this.consumes = consumes;
            this.guessPerSecond = guessPerSecond;
        }

        static Op of(String key) {
            for (Op o : values()) {
                if (o.key.equals(key)) {
                    return o;
                }
            }
            throw new InvalidInputException("--ops: unknown operation '" + key + "'; allowed: "
                    + Arrays.stream(values()).map(o -> o.key).collect(Collectors.joining(", ")));
        }
    }

    /**
     * How the work is done: {@code plain} SQL on ordo.message through JDBC (the ceiling), Ordo's SQL functions
     * through JDBC ({@code sql_api}, what a non-Java worker does; shows the functions' own cost) and
     * {@code ordo}, the Java {@link QueueClient}.
     */
    enum Impl {
        PLAIN, SQL_API, ORDO;

        String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Impl of(String key) {
            for (Impl i : values()) {
                if (i.key().equals(key)) {
                    return i;
                }
            }
            throw new InvalidInputException("--impls: unknown implementation '" + key + "'; allowed: plain, sql_api, ordo");
        }
    }

    /**
     * @param threads  concurrent threads per figure
     * @param warmup   warm-up before each figure (not counted)
     * @param measure  how long each figure is measured, in all
     * @param rounds   in how many slices the measured time is cut, alternating the implementations
     * @param out      where the JSON lines go as well as stdout
     * @param ops      what to measure
     * @param impls    how; always starts with plain, the ceiling every ratio is relative to
     */
    record Options(int threads, Duration warmup, Duration measure, int rounds, Path out, List<Op> ops, List<Impl> impls) {
        Options {
            if (rounds < 1 || rounds > 100) {
                throw new InvalidInputException("--rounds must be between 1 and 100, got " + rounds);
            }
            if (impls.isEmpty() || impls.getFirst() != Impl.PLAIN) {
                List<Impl> withPlain = new ArrayList<>(List.of(Impl.PLAIN));
                impls.stream().filter(i -> i != Impl.PLAIN).forEach(withPlain::add);
                impls = List.copyOf(withPlain);
            }
            if (threads < 1 || threads > 256) {
                throw new InvalidInputException("--threads must be between 1 and 256, got " + threads);
            }
            if (measure.isNegative() || measure.isZero() || measure.compareTo(Duration.ofHours(1)) > 0) {
                throw new InvalidInputException("--seconds must be between 1 and 3600, got " + measure.toSeconds());
            }
            if (warmup.isNegative() || warmup.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new InvalidInputException("--warmup must be between 0 and 600, got " + warmup.toSeconds());
            }
            if (ops.isEmpty()) {
                throw new InvalidInputException("--ops must name at least one operation");
            }
        }

        static Options parse(String[] args) {
            int threads = 4;
            long seconds = 10;
            long warmup = 3;
            int rounds = 5;
            Path out = Path.of("target", "bench",
                    "queue-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".jsonl");
            List<Op> ops = List.of(Op.values());
            List<Impl> impls = List.of(Impl.PLAIN, Impl.ORDO);
            for (int i = 0; i < args.length; i++) {
                String option = args[i];
                if (i + 1 >= args.length) {
                    throw new InvalidInputException(option + ": unknown option or missing value; see ./ordo bench queue --help");
                }
                String value = args[++i];
                switch (option) {
                    case "--threads" -> threads = number(option, value);
                    case "--seconds" -> seconds = number(option, value);
                    case "--warmup" -> warmup = number(option, value);
                    case "--rounds" -> rounds = number(option, value);
                    case "--out" -> out = Path.of(value);
                    case "--ops" -> ops = Arrays.stream(value.split(",")).map(String::strip).map(Op::of).distinct().toList();
                    case "--impls" -> impls = Arrays.stream(value.split(",")).map(String::strip).map(Impl::of).distinct().toList();
                    default -> throw new InvalidInputException("unknown option " + option + "; see ./ordo bench queue --help");
                }
            }
            return new Options(threads, Duration.ofSeconds(warmup), Duration.ofSeconds(seconds), rounds, out, ops, impls);
        }

        private static int number(String option, String value) {
            try {
                return Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new InvalidInputException(option + " needs a whole number, got '" + value + "'");
            }
        }
    }

    /** One measured figure. {@code ratio} is its rate over plain's, null for the plain figure itself. */
    record Figure(Op op, Impl impl, Result result, Double ratio) {
    }

    private final Options options;
    private final BenchDatabase bench;
    private final QueueClient client;
    private final String server;

    private QueueBenchmark(Options options, BenchDatabase bench) {
        this.options = options;
        this.bench = bench;
        this.client = new QueueClient(bench.database().dsl());
        this.server = bench.database().dsl().fetchValue("show server_version", String.class) + " (" + bench.description() + ")";
    }

    private static void usage(PrintStream out) {
        out.println("""
                usage: ./ordo bench queue [--seconds N] [--rounds N] [--warmup N] [--threads N] [--ops LIST] [--impls LIST] [--out FILE]

                Measures messages/second of Ordo's queue through QueueClient (the SQL functions) and of the
                same work as plain SQL on ordo.message through raw JDBC (the ceiling), and prints Ordo/plain.
                Runs against ORDO_DATABASE_URL if set, else a fresh embedded PostgreSQL.

                  --seconds N   measured time per figure (default 10)
                  --rounds N    cut it into N slices that alternate the implementations (default 5)
                  --warmup N    warm-up per figure, not counted (default 3)
                  --threads N   concurrent threads per figure (default 4)
                  --ops LIST    comma-separated, from: send, send_batch, read_delete_1, read_delete_100 (default all)
                  --impls LIST  comma-separated, from: plain, sql_api, ordo (default plain,ordo); sql_api calls
                                Ordo's SQL functions through raw JDBC, which splits Ordo's overhead between the
                                functions and the Java client
                  --out FILE    also write the JSON lines here (default target/bench/queue-<time>.jsonl)

                Output: one JSON line per figure on stdout, then a table.""");
    }

    /** Entry point of the scenario; returns the process exit code. */
    public static int run(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            usage(System.out);
            return 0;
        }
        Options options;
        try {
            options = Options.parse(args);
        } catch (InvalidInputException e) {
            System.err.println("ordo bench queue: " + e.getMessage());
            return 2;
        }
        try (BenchDatabase bench = BenchDatabase.open(options.threads() + 4)) {
            new QueueBenchmark(options, bench).runAll();
        }
        return 0;
    }

    private void runAll() throws Exception {
        System.err.printf(Locale.ROOT, "ordo bench queue: PostgreSQL %s, %d threads; per figure %d s warm-up, then %d s"
                        + " measured in %d rounds that alternate the implementations; %d figures%n",
                server, options.threads(), options.warmup().toSeconds(), options.measure().toSeconds(), options.rounds(),
                (long) options.ops().size() * options.impls().size());
        Path out = options.out().toAbsolutePath();
        Files.createDirectories(out.getParent());
        List<Figure> figures = new ArrayList<>();
        try (PrintStream file = new PrintStream(Files.newOutputStream(out), true, "UTF-8")) {
            for (Op op : options.ops()) {
                Map<Impl, Result> results = measure(op);
                double plain = results.get(Impl.PLAIN).messagesPerSecond();
                for (Impl impl : options.impls()) {
                    Result result = results.get(impl);
                    Figure figure = new Figure(op, impl, result, impl == Impl.PLAIN ? null : result.messagesPerSecond() / plain);
                    emit(figure, file);
                    figures.add(figure);
                }
            }
        }
        printTable(figures, System.out);
        System.err.println("ordo bench queue: JSON lines written to " + out);
    }

    /**
     * Measures one operation with every implementation, each on a queue of its own: a warm-up each, then
     * {@code rounds} short slices per implementation, in alternating order, so that a change of load on the
     * machine during the run weighs on all of them alike.
     */
    private Map<Impl, Result> measure(Op op) throws Exception {
        Map<Impl, String> queues = new EnumMap<>(Impl.class);
        Map<Impl, Throughput.WorkerFactory> workers = new EnumMap<>(Impl.class);
        Map<Impl, Double> rates = new EnumMap<>(Impl.class);
        Map<Impl, Result> results = new EnumMap<>(Impl.class);
        for (Impl impl : options.impls()) {
            String queue = "bench_" + op.key + "_" + impl.key();
            queues.put(impl, queue);
            workers.put(impl, switch (impl) {
                case ORDO -> () -> ordoWorker(op, queue);
                case PLAIN -> () -> plainWorker(op, queue, bench.database().dataSource());
                case SQL_API -> () -> sqlApiWorker(op, queue, bench.database().dataSource());
            });
            rates.put(impl, (double) op.guessPerSecond);
            client.dropQueue(queue);
            client.createQueue(queue);
        }
        try {
            for (Impl impl : options.impls()) {
                System.err.printf(Locale.ROOT, "ordo bench queue: %s batch %d, %s: warm-up%n", op.op, op.batch, impl.key());
                if (options.warmup().isZero()) {
                    continue;
                }
                if (op.consumes) {
                    fill(queues.get(impl), (long) (op.guessPerSecond * options.warmup().toSeconds()));
                }
                rates.put(impl, Throughput.run(options.threads(), options.warmup(), workers.get(impl)).messagesPerSecond());
            }
            Duration slice = options.measure().dividedBy(options.rounds());
            for (int round = 0; round < options.rounds(); round++) {
                List<Impl> order = new ArrayList<>(options.impls());
                if (round % 2 == 1) {
                    Collections.reverse(order);
                }
                for (Impl impl : order) {
                    if (op.consumes) {
                        // twice what the last slice consumed in as long, so the queue lasts the slice
                        fill(queues.get(impl), (long) Math.min(5_000_000, 2 * rates.get(impl) * slice.toNanos() / 1e9));
                    }
                    Result result = Throughput.run(options.threads(), slice, workers.get(impl));
                    rates.put(impl, Math.max(rates.get(impl), result.messagesPerSecond()));
                    results.merge(impl, result, Result::plus);
                    System.err.printf(Locale.ROOT, "ordo bench queue: %s batch %d, %s: round %d/%d %,.0f msg/s%s%n",
                            op.op, op.batch, impl.key(), round + 1, options.rounds(), result.messagesPerSecond(),
                            result.drained() ? " (the queue ran dry)" : "");
                }
            }
            return results;
        } finally {
            for (String queue : queues.values()) {
                client.dropQueue(queue);
            }
        }
    }

    /** Tops the queue up to {@code depth} visible messages and vacuums it, so every figure starts from a clean table. */
    private void fill(String queue, long depth) throws SQLException {
        PlainSql.fill(bench.database().dataSource(), queue, depth, BODY);
    }

    private Worker ordoWorker(Op op, String queue) {
        List<String> bodies = Collections.nCopies(op.batch, BODY);
        return switch (op) {
            case SEND -> () -> {
                client.send(queue, BODY);
                return 1;
            };
            case SEND_BATCH -> () -> client.sendBatch(queue, bodies).size();
            case READ_DELETE_1, READ_DELETE_100 -> () -> {
                List<Message> messages = client.read(queue, VISIBILITY, op.batch);
                if (messages.isEmpty()) {
                    return 0;
                }
                client.delete(queue, messages.stream().map(Message::id).toList());
                return messages.size();
            };
        };
    }

    private static Worker plainWorker(Op op, String queue, DataSource dataSource) throws SQLException {
        Connection c = dataSource.getConnection();
        c.setAutoCommit(true);
        return switch (op) {
            case SEND, SEND_BATCH -> PlainSql.send(c, queue, op.batch, BODY);
            case READ_DELETE_1, READ_DELETE_100 -> PlainSql.readDelete(c, queue, op.batch, VISIBILITY, false);
        };
    }

    private static Worker sqlApiWorker(Op op, String queue, DataSource dataSource) throws SQLException {
        Connection c = dataSource.getConnection();
        c.setAutoCommit(true);
        return switch (op) {
            case SEND -> new SqlApiSend(c, queue);
            case SEND_BATCH -> new SqlApiSendBatch(c, queue, op.batch);
            case READ_DELETE_1, READ_DELETE_100 -> new SqlApiReadDelete(c, queue, op.batch);
        };
    }

    /** {@code ordo.send} through JDBC. */
    private static final class SqlApiSend implements Worker {
        private final Connection connection;
        private final PreparedStatement send;

        SqlApiSend(Connection connection, String queue) throws SQLException {
            this.connection = connection;
            this.send = connection.prepareStatement("select ordo.send(?, ?::jsonb)");
            send.setString(1, queue);
            send.setString(2, BODY);
        }

        @Override
        public int call() throws SQLException {
            try (ResultSet rs = send.executeQuery()) {
                rs.next();
                rs.getLong(1);
            }
            return 1;
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }

    /** {@code ordo.send_batch} through JDBC. */
    private static final class SqlApiSendBatch implements Worker {
        private final Connection connection;
        private final PreparedStatement send;

        SqlApiSendBatch(Connection connection, String queue, int batch) throws SQLException {
            this.connection = connection;
            this.send = connection.prepareStatement("select ordo.send_batch(?, ?::jsonb[])");
            send.setString(1, queue);
            send.setArray(2, connection.createArrayOf("text", Collections.nCopies(batch, BODY).toArray()));
        }

        @Override
        public int call() throws SQLException {
            int n = 0;
            try (ResultSet rs = send.executeQuery()) {
                while (rs.next()) {
                    rs.getLong(1);
                    n++;
                }
            }
            return n;
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }

    /** {@code ordo.read} then {@code ordo.delete} through JDBC. */
    private static final class SqlApiReadDelete implements Worker {
        private final Connection connection;
        private final PreparedStatement read;
        private final PreparedStatement delete;
        private final String queue;

        SqlApiReadDelete(Connection connection, String queue, int batch) throws SQLException {
            this.connection = connection;
            this.queue = queue;
            this.read = connection.prepareStatement("select * from ordo.read(?, ?, ?)");
            read.setString(1, queue);
            read.setDouble(2, VISIBILITY.toSeconds());
            read.setInt(3, batch);
            this.delete = connection.prepareStatement("select ordo.delete(?, ?::bigint[])");
        }

        @Override
        public int call() throws SQLException {
            List<Message> messages = PlainSql.readMessages(read);
            if (messages.isEmpty()) {
                return 0;
            }
            delete.setString(1, queue);
            delete.setArray(2, connection.createArrayOf("bigint", messages.stream().map(Message::id).toArray()));
            try (ResultSet rs = delete.executeQuery()) {
                while (rs.next()) {
                    rs.getLong(1);
                }
            }
            return messages.size();
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }

    private void emit(Figure f, PrintStream file) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("scenario", NAME);
        line.put("op", f.op().op);
        line.put("batch", f.op().batch);
        line.put("impl", f.impl().key());
        line.put("msgs_per_sec", round(f.result().messagesPerSecond(), 1));
        line.put("ratio_to_plain", f.ratio() == null ? null : round(f.ratio(), 3));
        line.put("calls", f.result().calls());
        line.put("messages", f.result().messages());
        line.put("seconds", round(f.result().elapsed().toNanos() / 1e9, 3));
        line.put("p50_ms", round(f.result().latencyMillis(50), 3));
        line.put("p99_ms", round(f.result().latencyMillis(99), 3));
        line.put("client_cpu_us_per_msg", round(f.result().clientCpuMicrosPerMessage(), 2));
        line.put("drained", f.result().drained());
        line.put("threads", options.threads());
        line.put("rounds", options.rounds());
        line.put("postgres", server);
        try {
            String json = JSON.writeValueAsString(line);
            System.out.println(json);
            file.println(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void printTable(List<Figure> figures, PrintStream out) {
        out.println();
        out.printf(Locale.ROOT, "queue benchmark: PostgreSQL %s, %d threads, %d s per figure in %d rounds after %d s warm-up%n",
                server, options.threads(), options.measure().toSeconds(), options.rounds(), options.warmup().toSeconds());
        out.printf(Locale.ROOT, "%-12s %6s %-8s %12s %9s %8s %8s %16s%n",
                "op", "batch", "impl", "msg/s", "vs plain", "p50 ms", "p99 ms", "client µs/msg");
        for (Figure f : figures) {
            out.printf(Locale.ROOT, "%-12s %6d %-8s %,12.0f %9s %8.2f %8.2f %16.1f%n",
                    f.op().op, f.op().batch, f.impl().key(), f.result().messagesPerSecond(),
                    f.ratio() == null ? "" : String.format(Locale.ROOT, "%.2fx", f.ratio()),
                    f.result().latencyMillis(50), f.result().latencyMillis(99), f.result().clientCpuMicrosPerMessage());
        }
    }

    private static double round(double value, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }
}
