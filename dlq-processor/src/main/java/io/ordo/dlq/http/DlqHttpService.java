package io.ordo.dlq.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.InvalidInputException;
import io.ordo.Json;
import io.ordo.NotFoundException;
import io.ordo.dlq.DeadLetter;
import io.ordo.dlq.DeadLetterEvent;
import io.ordo.dlq.DeadLetterFilter;
import io.ordo.dlq.DeadLetterStateException;
import io.ordo.dlq.DeadLetterStatus;
import io.ordo.dlq.DeadLetters;
import io.ordo.http.ConflictException;
import io.ordo.http.InvalidFieldException;
import io.ordo.http.Requests;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.Role;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@code /v1/dlq}, the dead-letter admin endpoints. Mount it on any Ordo server whose routing maps failures to
 * problems ({@link io.ordo.http.HttpServers} does): {@code routing.register("/v1/dlq", service)}.
 * <pre>
 * GET  /v1/dlq                 letters by namespace, template, step, error_class, classification, status, task_id,
 *                              from, to; newest first; limit (1-1000, default 50) and cursor (from next_cursor)
 * GET  /v1/dlq/stats           counts per namespace, error class, classification and status
 * GET  /v1/dlq/{id}            one letter with its history
 * POST /v1/dlq/{id}/requeue    {"input": optional patched step input, "reason": optional}
 * POST /v1/dlq/requeue         {"filter": {...}, "dry_run": false, "reason": optional, "limit": optional}
 * POST /v1/dlq/{id}/discard    {"reason": required}
 * </pre>
 * Reads need a reader token, changes an operator token; every change records the token ({@code api:<name>}), the
 * time and the reason. Unknown fields and query parameters are refused (400), as is a change the letter cannot
 * take (409: resolved already, a message rather than a step, its task no longer failed).
 */
public final class DlqHttpService implements HttpService {
    private static final int DEFAULT_PAGE = 50;
    private static final Set<String> FILTERS = Set.of("namespace", "template", "step", "error_class", "classification",
            "status", "task_id", "from", "to");

    private final DeadLetters letters;
    private final Access access;
    private final Requests requests;

    public DlqHttpService(DeadLetters letters, Access access, Requests requests) {
        this.letters = letters;
        this.access = access;
        this.requests = requests;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", access.require(Role.READER, this::list))
                .get("/stats", access.require(Role.READER, this::stats))
                .post("/requeue", access.require(Role.OPERATOR, this::bulkRequeue))
                .get("/{id}", access.require(Role.READER, this::get))
                .post("/{id}/requeue", access.require(Role.OPERATOR, this::requeue))
                .post("/{id}/discard", access.require(Role.OPERATOR, this::discard));
    }

    /** Body of {@code POST /v1/dlq/{id}/requeue}; optional. */
    record RequeueRequest(JsonNode input, String reason) {
    }

    /** Body of {@code POST /v1/dlq/{id}/discard}. */
    record DiscardRequest(String reason) {
    }

    /** Body of {@code POST /v1/dlq/requeue}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record BulkRequeueRequest(BulkFilter filter, Boolean dryRun, String reason, Integer limit) {
    }

    /** Which open letters a bulk requeue takes; every field optional. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record BulkFilter(String namespace, String template, String step, String errorClass, String classification, Long taskId,
                      String from, String to) {
    }

    // ---- handlers -----------------------------------------------------------------------------------------

    private void list(ServerRequest req, ServerResponse res) {
        refuseUnknownQuery(req, Set.of("limit", "cursor"));
        DeadLetterFilter filter = filter("", name -> Requests.query(req, name).orElse(null));
        int limit = Requests.intQuery(req, "limit", DEFAULT_PAGE, 1, DeadLetters.MAX_PAGE);
        Long cursor = Requests.query(req, "cursor").map(DlqHttpService::decodeCursor).orElse(null);
        DeadLetters.Page page = letters.list(filter, cursor, limit);
        ObjectNode body = Json.object();
        ArrayNode items = body.putArray("items");
        page.items().forEach(l -> items.add(letterJson(l)));
        if (page.nextCursor() == null) {
            body.putNull("next_cursor");
        } else {
            body.put("next_cursor", encodeCursor(page.nextCursor()));
        }
        send(res, body);
    }

    private void get(ServerRequest req, ServerResponse res) {
        refuseUnknownQuery(req, Set.of());
        long id = Requests.id(req, "id");
        send(res, detailJson(find(id), letters.history(id)));
    }

    private void stats(ServerRequest req, ServerResponse res) {
        refuseUnknownQuery(req, Set.of());
        List<DeadLetters.Count> counts = letters.stats();
        ObjectNode body = Json.object();
        ObjectNode byNamespace = body.putObject("by_namespace");
        long total = 0;
        for (DeadLetters.Count c : counts) {
            ObjectNode ns = byNamespace.has(c.namespace()) ? (ObjectNode) byNamespace.get(c.namespace()) : byNamespace.putObject(c.namespace());
            ns.put(c.status().label(), ns.path(c.status().label()).asLong(0) + c.count());
            total += c.count();
        }
        body.put("total", total);
        ArrayNode rows = body.putArray("counts");
        for (DeadLetters.Count c : counts) {
            rows.addObject().put("namespace", c.namespace()).put("error_class", c.errorClass())
                    .put("classification", c.classification()).put("status", c.status().label()).put("count", c.count());
        }
        send(res, body);
    }

    private void requeue(ServerRequest req, ServerResponse res) {
        refuseUnknownQuery(req, Set.of());
        long id = Requests.id(req, "id");
        byte[] raw = requests.bytes(req);
        RequeueRequest body = raw.length == 0 ? new RequeueRequest(null, null) : Requests.parse(raw, RequeueRequest.class);
        String input = body.input() == null || body.input().isNull() ? null : body.input().toString();
        String reason = reason(body.reason(), false);
        conflictOnState(() -> letters.requeue(id, input, Access.actor(req), reason));
        send(res, detailJson(find(id), letters.history(id)));
    }

    private void bulkRequeue(ServerRequest req, ServerResponse res) {
        refuseUnknownQuery(req, Set.of());
        BulkRequeueRequest body = requests.json(req, BulkRequeueRequest.class);
        BulkFilter f = body.filter();
        if (f == null) {
            throw new InvalidFieldException("filter", "filter is required: an object of namespace, template, step, error_class,"
                    + " classification, task_id, from, to ({} for every open letter)");
        }
        DeadLetterFilter filter = filter("filter.", name -> switch (name) {
            case "namespace" -> f.namespace();
            case "template" -> f.template();
            case "step" -> f.step();
            case "error_class" -> f.errorClass();
            case "classification" -> f.classification();
            case "task_id" -> f.taskId() == null ? null : f.taskId().toString();
            case "from" -> f.from();
            case "to" -> f.to();
            default -> null;
        });
        int limit = body.limit() == null ? DeadLetters.MAX_BULK : body.limit();
        if (limit < 1 || limit > DeadLetters.MAX_BULK) {
            throw new InvalidFieldException("limit", "limit must be between 1 and " + DeadLetters.MAX_BULK + ", got " + limit);
        }
        boolean dryRun = Boolean.TRUE.equals(body.dryRun());
        int count = letters.requeue(filter, Access.actor(req), reason(body.reason(), false), dryRun, limit);
        send(res, Json.object().put("dry_run", dryRun).put("count", count));
    }

    private void discard(ServerRequest req, ServerResponse res) {
        refuseUnknownQuery(req, Set.of());
        long id = Requests.id(req, "id");
        DiscardRequest body = requests.json(req, DiscardRequest.class);
        String reason = reason(body.reason(), true);
        conflictOnState(() -> {
            letters.discard(id, Access.actor(req), reason);
            return null;
        });
        send(res, detailJson(find(id), letters.history(id)));
    }

    // ---- request parsing ----------------------------------------------------------------------------------

    private DeadLetter find(long id) {
        return letters.get(id).orElseThrow(() -> new NotFoundException("no dead letter " + id, null));
    }

    private static <T> T conflictOnState(Supplier<T> change) {
        try {
            return change.get();
        } catch (DeadLetterStateException e) {
            throw new ConflictException(e.getMessage());
        }
    }

    private static void refuseUnknownQuery(ServerRequest req, Set<String> allowedBesidesFilters) {
        boolean filters = !allowedBesidesFilters.isEmpty();
        for (String name : req.query().names()) {
            if (!allowedBesidesFilters.contains(name) && !(filters && FILTERS.contains(name))) {
                throw new InvalidFieldException(name, "unknown query parameter '" + Requests.shorten(name) + "'"
                        + (filters ? "; known: cursor, limit, " + String.join(", ", FILTERS.stream().sorted().toList()) : "; this call takes none"));
            }
        }
    }

    private static DeadLetterFilter filter(String prefix, java.util.function.Function<String, String> value) {
        String taskId = value.apply("task_id");
        Long task = null;
        if (taskId != null) {
            try {
                task = Long.parseLong(taskId);
            } catch (NumberFormatException e) {
                throw new InvalidFieldException(prefix + "task_id", prefix + "task_id must be an integer, got '" + Requests.shorten(taskId) + "'");
            }
        }
        String status = value.apply("status");
        try {
            return new DeadLetterFilter(value.apply("namespace"), value.apply("template"), value.apply("step"),
                    value.apply("error_class"), value.apply("classification"), status == null ? null : DeadLetterStatus.of(status), task,
                    instant(value.apply("from"), prefix + "from"), instant(value.apply("to"), prefix + "to"));
        } catch (InvalidFieldException e) {
            throw e;
        } catch (InvalidInputException e) {
            String field = e.getMessage().split(" ", 2)[0];
            throw new InvalidFieldException(prefix + field, prefix + e.getMessage());
        }
    }

    private static Instant instant(String text, String field) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new InvalidFieldException(field, field + " must be a UTC timestamp like 2025-01-31T12:00:00Z, got '"
                    + Requests.shorten(text) + "'");
        }
    }

    private static String reason(String reason, boolean required) {
        if (reason == null) {
            if (required) {
                throw new InvalidFieldException("reason", "reason is required: say why");
            }
            return null;
        }
        if (reason.isBlank() || reason.length() > 2000) {
            throw new InvalidFieldException("reason", "reason must be 1 to 2000 characters, not blank");
        }
        return reason;
    }

    private static String encodeCursor(long id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(("dl:" + id).getBytes(StandardCharsets.UTF_8));
    }

    private static long decodeCursor(String cursor) {
        try {
            String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            if (text.startsWith("dl:")) {
                long id = Long.parseLong(text.substring(3));
                if (id > 0) {
                    return id;
                }
            }
        } catch (IllegalArgumentException e) {
            // refused below
        }
        throw new InvalidFieldException("cursor", "cursor is not one this API gave out; pass next_cursor of the previous page");
    }

    // ---- responses ----------------------------------------------------------------------------------------

    private static void send(ServerResponse res, JsonNode body) {
        res.status(Status.OK_200);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(body.toString());
    }

    static ObjectNode letterJson(DeadLetter l) {
        ObjectNode o = Json.object();
        o.put("id", l.id());
        o.put("namespace", l.namespace());
        o.put("task_id", l.taskId());
        o.put("step_id", l.stepId());
        o.put("template", l.template());
        o.put("template_version", l.templateVersion());
        o.put("step", l.step());
        o.put("handler", l.handler());
        o.put("reason", l.reason());
        o.put("error_class", l.errorClass());
        o.set("message", json(l.message()));
        o.set("last_error", json(l.lastError()));
        o.set("attempts", json(l.attempts()));
        o.put("first_failed_at", text(l.firstFailedAt()));
        o.put("dead_lettered_at", text(l.deadLetteredAt()));
        o.put("status", l.status().label());
        o.put("resolved_by", l.resolvedBy());
        o.put("resolved_reason", l.resolvedReason());
        o.put("resolved_at", text(l.resolvedAt()));
        o.put("classification", l.classification() == null ? null : l.classification().label());
        o.put("classified_at", text(l.classifiedAt()));
        o.put("classified_by", l.classifiedBy());
        return o;
    }

    private static ObjectNode detailJson(DeadLetter letter, List<DeadLetterEvent> history) {
        ObjectNode o = letterJson(letter);
        ArrayNode events = o.putArray("history");
        for (DeadLetterEvent e : history) {
            ObjectNode ev = events.addObject();
            ev.put("id", e.id());
            ev.put("kind", e.kind());
            ev.put("actor", e.actor());
            ev.put("reason", e.reason());
            ev.set("detail", json(e.detail()));
            ev.put("at", text(e.at()));
        }
        return o;
    }

    private static JsonNode json(String text) {
        return text == null ? Json.MAPPER.nullNode() : Json.parse(text);
    }

    private static String text(Instant t) {
        return t == null ? null : t.toString();
    }
}
