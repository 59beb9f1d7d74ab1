package io.ordo.orchestrator.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.Json;
import io.ordo.NotFoundException;
import io.ordo.http.ConflictException;
import io.ordo.http.InvalidFieldException;
import io.ordo.http.Requests;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.Role;
import io.ordo.task.BackpressureException;
import io.ordo.task.SubmitOptions;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.task.TaskView;
import io.ordo.telemetry.LogContext;
import io.ordo.telemetry.Logging;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * {@code /v1/tasks}: submit (through {@code ordo.submit_task}, like any SQL caller), read, list, cancel, and read
 * a task's transition log.
 */
public final class TaskService implements HttpService {
    private static final System.Logger LOG = System.getLogger(TaskService.class.getName());

    private final DSLContext dsl;
    private final Access access;
    private final Requests requests;
    private final BiConsumer<String, String> onSubmitted;
    private final Consumer<String> onRefused;
    private final BiConsumer<String, String> onCancelled;

    /**
     * @param onSubmitted  told (namespace, template) of each task created
     * @param onRefused    told the namespace of each submission refused by backpressure
     * @param onCancelled  told (namespace, template) of each task cancelled
     */
    public TaskService(DSLContext dsl, Access access, Requests requests, BiConsumer<String, String> onSubmitted,
                       Consumer<String> onRefused, BiConsumer<String, String> onCancelled) {
        this.dsl = dsl;
        this.access = access;
        this.requests = requests;
        this.onSubmitted = onSubmitted;
        this.onRefused = onRefused;
        this.onCancelled = onCancelled;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/", access.require(Role.SUBMITTER, this::submit))
                .get("/", access.require(Role.READER, this::list))
                .get("/{id}", access.require(Role.READER, this::get))
                .post("/{id}/cancel", access.require(Role.OPERATOR, this::cancel))
                .get("/{id}/transitions", access.require(Role.READER, this::transitions));
    }

    /** Body of {@code POST /v1/tasks}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record SubmitRequest(String namespace, String template, String version, JsonNode context, String idempotencyKey,
                         Integer priority, String correlationId) {
    }

    /** Body of {@code POST /v1/tasks/{id}/cancel}; optional. */
    record CancelRequest(String reason) {
    }

    private record Submitted(long id, boolean created) {
    }

    private void submit(ServerRequest req, ServerResponse res) {
        SubmitRequest body = requests.json(req, SubmitRequest.class);
        String namespace = Requests.check("namespace", body.namespace(), Requests.NAMESPACE);
        String template = Requests.check("template", body.template(), Requests.NAME);
        if (body.version() != null) {
            Requests.check("version", body.version(), Requests.VERSION);
        }
        if (body.context() != null && !body.context().isObject()) {
            throw new InvalidFieldException("context", "context must be a JSON object, got " + body.context().getNodeType()
                    .name().toLowerCase(Locale.ROOT));
        }
        if (body.priority() != null && (body.priority() < -100 || body.priority() > 100)) {
            throw new InvalidFieldException("priority", "priority must be between -100 and 100, got " + body.priority());
        }
        if (body.idempotencyKey() != null && (body.idempotencyKey().isEmpty() || body.idempotencyKey().length() > 200)) {
            throw new InvalidFieldException("idempotency_key", "idempotency_key must be 1 to 200 characters");
        }
        if (body.correlationId() != null && body.correlationId().length() > 200) {
            throw new InvalidFieldException("correlation_id", "correlation_id must be at most 200 characters");
        }
        SubmitOptions options = new SubmitOptions(body.idempotencyKey(), body.priority() == null ? 0 : body.priority(),
                body.correlationId(), null);
        String context = body.context() == null ? "{}" : body.context().toString();
        Submitted submitted;
        try {
            // one top-level transaction: a row this transaction inserted carries its xid as xmin, so "created" is exact
            // even when two requests with the same idempotency key race
            submitted = dsl.transactionResult(cfg -> {
                long id = new TaskClient(cfg.dsl()).submit(namespace, template, body.version(), context, options);
                boolean created = cfg.dsl().fetchOne("select xmin = pg_current_xact_id()::xid from ordo.task where id = ?", id)
                        .get(0, Boolean.class);
                return new Submitted(id, created);
            });
        } catch (BackpressureException e) {
            onRefused.accept(namespace);
            throw e;
        }
        TaskView task = new TaskClient(dsl).get(submitted.id()).orElseThrow();
        try (var ignored = LogContext.task(submitted.id())) {
            LOG.log(System.Logger.Level.DEBUG, () -> (submitted.created() ? "submitted " : "idempotent repeat of ") + namespace + "/"
                    + template + " by " + Access.actor(req) + ", context " + Logging.taskContext(context));
        }
        if (submitted.created()) {
            onSubmitted.accept(task.namespace(), task.template());
            res.header(HeaderNames.LOCATION, "/v1/tasks/" + submitted.id());
            Responses.json(res, Status.CREATED_201, TaskViews.of(task));
        } else {
            Responses.ok(res, TaskViews.of(task));
        }
    }

    private void get(ServerRequest req, ServerResponse res) {
        long id = Requests.id(req, "id");
        Responses.ok(res, TaskViews.of(find(id)));
    }

    private TaskView find(long id) {
        return new TaskClient(dsl).get(id).orElseThrow(() -> new NotFoundException("task " + id + " does not exist", null));
    }

    private void list(ServerRequest req, ServerResponse res) {
        String namespace = Requests.query(req, "namespace").map(v -> Requests.check("namespace", v, Requests.NAMESPACE)).orElse(null);
        TaskStatus status = Requests.query(req, "status").map(TaskService::status).orElse(null);
        Long cursor = Requests.query(req, "cursor").map(TaskService::cursor).orElse(null);
        int limit = Requests.intQuery(req, "limit", 50, 1, 1000);
        List<TaskView> rows = new TaskClient(dsl).list(namespace, status, cursor, Math.min(1000, limit + 1));
        boolean more = rows.size() > limit;
        List<TaskView> page = more ? rows.subList(0, limit) : rows;
        String next = more ? Long.toString(page.getLast().id()) : null;
        Responses.ok(res, new TaskViews.Page<>(page.stream().map(TaskViews::summary).toList(), next));
    }

    private static TaskStatus status(String raw) {
        return Arrays.stream(TaskStatus.values()).filter(s -> s.db().equals(raw)).findFirst()
                .orElseThrow(() -> new InvalidFieldException("status", "status must be one of "
                        + String.join(", ", Arrays.stream(TaskStatus.values()).map(TaskStatus::db).toList()) + ", got '"
                        + Requests.shorten(raw) + "'"));
    }

    private static long cursor(String raw) {
        try {
            long c = Long.parseLong(raw);
            if (c < 1) {
                throw new NumberFormatException();
            }
            return c;
        } catch (NumberFormatException e) {
            throw new InvalidFieldException("cursor", "cursor must be the next_cursor of a previous page, got '" + Requests.shorten(raw) + "'");
        }
    }

    private void cancel(ServerRequest req, ServerResponse res) {
        long id = Requests.id(req, "id");
        byte[] raw = requests.bytes(req);
        String reason = raw.length == 0 ? null : Requests.parse(raw, CancelRequest.class).reason();
        if (reason != null && reason.length() > 1000) {
            throw new InvalidFieldException("reason", "reason must be at most 1000 characters");
        }
        boolean cancelled = new TaskClient(dsl).cancel(id, reason, Access.actor(req));
        TaskView task = find(id);
        if (cancelled) {
            onCancelled.accept(task.namespace(), task.template());
        } else if (task.status() != TaskStatus.CANCELLED) {
            throw new ConflictException("task " + id + " is already " + task.status().db() + "; it cannot be cancelled");
        }
        Responses.ok(res, TaskViews.of(task));
    }

    private void transitions(ServerRequest req, ServerResponse res) {
        long id = Requests.id(req, "id");
        long after = Requests.query(req, "after").map(TaskService::cursor).orElse(0L);
        int limit = Requests.intQuery(req, "limit", 1000, 1, 10_000);
        if (!dsl.fetchExists(dsl.selectOne().from("ordo.task").where("id = ?", id))) {
            throw new NotFoundException("task " + id + " does not exist", null);
        }
        List<TaskViews.Transition> rows = dsl.fetch("""
                        select seq, step_id, step_name, from_state, to_state, attempt, actor, at, detail::text
                        from ordo.transition where task_id = ? and seq > ? order by seq limit ?""", id, after, limit + 1)
                .map(TaskService::transition);
        boolean more = rows.size() > limit;
        List<TaskViews.Transition> page = more ? rows.subList(0, limit) : rows;
        Responses.ok(res, new TaskViews.Page<>(page, more ? Long.toString(page.getLast().seq()) : null));
    }

    private static TaskViews.Transition transition(Record r) {
        return new TaskViews.Transition(r.get(0, Long.class), r.get(1, Long.class), r.get(2, String.class), r.get(3, String.class),
                r.get(4, String.class), r.get(5, Integer.class), r.get(6, String.class), r.get(7, OffsetDateTime.class).toInstant(),
                Json.parse(r.get(8, String.class)));
    }
}
