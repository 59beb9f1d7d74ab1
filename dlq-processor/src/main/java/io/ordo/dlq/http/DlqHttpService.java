package io.ordo.dlq.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.Handler;
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
import io.ordo.dlq.http.TokenVerifier.Caller;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The dead-letter admin endpoints, to mount under {@code /v1/dlq} on any Ordo server:
 * <pre>
 * GET  /v1/dlq                 letters by namespace, template, step, error_class, classification, status, task_id,
 *                              from, to; newest first, limit (1-1000, default 50) and cursor (from next_cursor)
 * GET  /v1/dlq/stats           counts per namespace, error class, classification and status
 * GET  /v1/dlq/{id}            one letter with its history
 * POST /v1/dlq/{id}/requeue    {"input": optional patched step input, "reason": optional}
 * POST /v1/dlq/requeue         {"filter": {...}, "dry_run": false, "reason": optional, "limit": optional}
 * POST /v1/dlq/{id}/discard    {"reason": required}
 * </pre>
 * Reads need a token with the reader role, changes an operator token ({@code Authorization: Bearer <token>}); every
 * change records the token's name, the time and the reason. Errors are {@code application/problem+json}: 400 for a
 * malformed request (unknown fields included), 401 without a valid token, 403 for a role that is not enough, 404 for
 * an unknown letter, 409 for a letter that cannot take the change. Handlers never rely on the routing's error
 * handlers, so the service behaves the same wherever it is mounted.
 */
public final class DlqHttpService implements HttpService {
    private static final System.Logger LOG = System.getLogger(DlqHttpService.class.getName());
    private static final int MAX_BODY_CHARS = 1 << 20;
    private static final int DEFAULT_PAGE = 50;
    private static final Set<String> LIST_PARAMS = Set.of("namespace", "template", "step", "error_class", "classification",
            "status", "task_id", "from", "to", "limit", "cursor");

    private final DeadLetters letters;
    private final TokenVerifier tokens;

    public DlqHttpService(DeadLetters letters, TokenVerifier tokens) {
        this.letters = letters;
        this.tokens = tokens;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", guarded(Role.READER, this::list))
                .get("/stats", guarded(Role.READER, this::stats))
                .post("/requeue", guarded(Role.OPERATOR, this::bulkRequeue))
                .get("/{id}", guarded(Role.READER, this::get))
                .post("/{id}/requeue", guarded(Role.OPERATOR, this::requeue))
                .post("/{id}/discard", guarded(Role.OPERATOR, this::discard));
    }

    @FunctionalInterface
    private interface Action {
        void handle(ServerRequest req, ServerResponse res, Caller caller);
    }

    private Handler guarded(Role role, Action action) {
        return (req, res) -> {
            try {
                Caller caller = authenticate(req);
                if (!caller.role().includes(role)) {
                    throw new Problem.Refused(Status.FORBIDDEN_403, "forbidden", "this call needs the role " + role.label()
                            + " (or one that includes it); the token '" + caller.name() + "' has the role " + caller.role().label(),
                            null);
                }
                action.handle(req, res, caller);
            } catch (Problem.Refused e) {
                e.problem.send(res, req.path().absolute().path());
            } catch (InvalidInputException e) {
                Problem.badRequest(e.getMessage(), null).problem.send(res, req.path().absolute().path());
            } catch (NotFoundException e) {
                new Problem(Status.NOT_FOUND_404, "not-found", e.getMessage(), null).send(res, req.path().absolute().path());
            } catch (DeadLetterStateException e) {
                new Problem(Status.CONFLICT_409, "conflict", e.getMessage(), null).send(res, req.path().absolute().path());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, req.prologue().method().text() + " " + req.path().absolute().path() + " failed", e);
                new Problem(Status.INTERNAL_SERVER_ERROR_500, "internal-error", "the server failed to handle the request; see its log",
                        null).send(res, req.path().absolute().path());
            }
        };
    }

    private Caller authenticate(ServerRequest req) {
        Optional<String> header = req.headers().first(HeaderNames.AUTHORIZATION);
        if (header.isEmpty()) {
            throw new Problem.Refused(Status.UNAUTHORIZED_401, "unauthorized",
                    "this call needs an API token: send 'Authorization: Bearer <token>'", "Authorization");
        }
        String value = header.get().trim();
        if (value.length() < 8 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new Problem.Refused(Status.UNAUTHORIZED_401, "unauthorized", "the Authorization header must be 'Bearer <token>'",
                    "Authorization");
        }
        return tokens.verify(value.substring(7).trim()).orElseThrow(() -> new Problem.Refused(Status.UNAUTHORIZED_401,
                "unauthorized", "the API token is unknown or revoked", "Authorization"));
    }

    private static String actor(Caller caller) {
        return "api:" + caller.name();
    }

    // ---- handlers -----------------------------------------------------------------------------------------

    private void list(ServerRequest req, ServerResponse res, Caller caller) {
        Map<String, String> q = query(req, LIST_PARAMS);
        DeadLetterFilter filter = filter(q, "query parameter ");
        int limit = q.containsKey("limit") ? integer(q.get("limit"), "limit", 1, DeadLetters.MAX_PAGE) : DEFAULT_PAGE;
        Long cursor = q.containsKey("cursor") ? decodeCursor(q.get("cursor")) : null;
        DeadLetters.Page page = letters.list(filter, cursor, limit);
        ObjectNode body = Json.object();
        ArrayNode items = body.putArray("items");
        page.items().forEach(l -> items.add(letterJson(l)));
        if (page.nextCursor() == null) {
            body.putNull("next_cursor");
        } else {
            body.put("next_cursor", encodeCursor(page.nextCursor()));
        }
        sendJson(res, Status.OK_200, body);
    }

    private void get(ServerRequest req, ServerResponse res, Caller caller) {
        long id = pathId(req);
        DeadLetter letter = letters.get(id).orElseThrow(() -> notFound(id));
        sendJson(res, Status.OK_200, detailJson(letter, letters.history(id)));
    }

    private void stats(ServerRequest req, ServerResponse res, Caller caller) {
        query(req, Set.of());
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
            ObjectNode row = rows.addObject();
            row.put("namespace", c.namespace());
            row.put("error_class", c.errorClass());
            row.put("classification", c.classification());
            row.put("status", c.status().label());
            row.put("count", c.count());
        }
        sendJson(res, Status.OK_200, body);
    }

    private void requeue(ServerRequest req, ServerResponse res, Caller caller) {
        long id = pathId(req);
        query(req, Set.of());
        ObjectNode body = body(req, false, Set.of("input", "reason"));
        JsonNode input = body.get("input");
        String reason = reason(body, false);
        letters.requeue(id, input == null || input.isNull() ? null : input.toString(), actor(caller), reason);
        DeadLetter letter = letters.get(id).orElseThrow(() -> notFound(id));
        sendJson(res, Status.OK_200, detailJson(letter, letters.history(id)));
    }

    private void bulkRequeue(ServerRequest req, ServerResponse res, Caller caller) {
        query(req, Set.of());
        ObjectNode body = body(req, true, Set.of("filter", "dry_run", "reason", "limit"));
        JsonNode filterNode = body.get("filter");
        if (filterNode == null || !filterNode.isObject()) {
            throw Problem.badRequest("filter: required, a JSON object of namespace, template, step, error_class,"
                    + " classification, task_id, from, to ({} for every open letter)", "filter");
        }
        Map<String, String> f = new LinkedHashMap<>();
        filterNode.fields().forEachRemaining(e -> {
            if (!Set.of("namespace", "template", "step", "error_class", "classification", "task_id", "from", "to").contains(e.getKey())) {
                throw Problem.badRequest("filter: unknown field '" + e.getKey() + "'; allowed: namespace, template, step,"
                        + " error_class, classification, task_id, from, to", "filter." + e.getKey());
            }
            JsonNode v = e.getValue();
            if (e.getKey().equals("task_id") ? !v.canConvertToLong() || !v.isIntegralNumber() : !v.isTextual()) {
                throw Problem.badRequest("filter." + e.getKey() + ": must be " + (e.getKey().equals("task_id") ? "an integer" : "a string"),
                        "filter." + e.getKey());
            }
            f.put(e.getKey(), v.asText());
        });
        DeadLetterFilter filter = filter(f, "filter.");
        boolean dryRun = false;
        if (body.has("dry_run")) {
            if (!body.get("dry_run").isBoolean()) {
                throw Problem.badRequest("dry_run: must be true or false", "dry_run");
            }
            dryRun = body.get("dry_run").asBoolean();
        }
        int limit = DeadLetters.MAX_BULK;
        if (body.has("limit")) {
            JsonNode l = body.get("limit");
            if (!l.isIntegralNumber() || l.asLong() < 1 || l.asLong() > DeadLetters.MAX_BULK) {
                throw Problem.badRequest("limit: must be an integer between 1 and " + DeadLetters.MAX_BULK, "limit");
            }
            limit = l.asInt();
        }
        int count = letters.requeue(filter, actor(caller), reason(body, false), dryRun, limit);
        ObjectNode out = Json.object();
        out.put("dry_run", dryRun);
        out.put("count", count);
        sendJson(res, Status.OK_200, out);
    }

    private void discard(ServerRequest req, ServerResponse res, Caller caller) {
        long id = pathId(req);
        query(req, Set.of());
        ObjectNode body = body(req, true, Set.of("reason"));
        letters.discard(id, actor(caller), reason(body, true));
        DeadLetter letter = letters.get(id).orElseThrow(() -> notFound(id));
        sendJson(res, Status.OK_200, detailJson(letter, letters.history(id)));
    }

    // ---- request parsing ----------------------------------------------------------------------------------

    private static long pathId(ServerRequest req) {
        String text = req.path().pathParameters().get("id");
        try {
            long id = Long.parseLong(text);
            if (id > 0) {
                return id;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw Problem.badRequest("id: a dead letter id is a positive integer, got '" + clip(text) + "'", "id");
    }

    /** The query parameters, each at most once and all of them known. */
    private static Map<String, String> query(ServerRequest req, Set<String> allowed) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : req.query().names()) {
            if (!allowed.contains(name)) {
                throw Problem.badRequest("unknown query parameter '" + clip(name) + "'"
                        + (allowed.isEmpty() ? "; this call takes none" : "; allowed: " + String.join(", ", allowed.stream().sorted().toList())),
                        name);
            }
            List<String> values = req.query().all(name);
            if (values.size() != 1) {
                throw Problem.badRequest("query parameter '" + name + "' is given " + values.size() + " times; give it once", name);
            }
            out.put(name, values.getFirst());
        }
        return out;
    }

    private static DeadLetterFilter filter(Map<String, String> q, String prefix) {
        String status = q.get("status");
        Long taskId = q.containsKey("task_id") ? (long) integer(q.get("task_id"), prefix + "task_id", 1, Integer.MAX_VALUE) : null;
        try {
            return new DeadLetterFilter(q.get("namespace"), q.get("template"), q.get("step"), q.get("error_class"),
                    q.get("classification"), status == null ? null : DeadLetterStatus.of(status), taskId,
                    instant(q.get("from"), prefix + "from"), instant(q.get("to"), prefix + "to"));
        } catch (InvalidInputException e) {
            throw Problem.badRequest(prefix + e.getMessage(), null);
        }
    }

    private static Instant instant(String text, String field) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw Problem.badRequest(field + ": must be a UTC timestamp like 2025-01-31T12:00:00Z, got '" + clip(text) + "'", field);
        }
    }

    private static int integer(String text, String field, int min, int max) {
        try {
            long v = Long.parseLong(text);
            if (v >= min && v <= max) {
                return (int) v;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw Problem.badRequest(field + ": must be an integer between " + min + " and " + max + ", got '" + clip(text) + "'", field);
    }

    /** The JSON object body; {@code required} false accepts an empty body as {}. Unknown fields are refused. */
    private static ObjectNode body(ServerRequest req, boolean required, Set<String> allowed) {
        String text = req.content().hasEntity() ? req.content().as(String.class) : "";
        if (text.isBlank()) {
            if (required) {
                throw Problem.badRequest("this call needs a JSON object body with " + String.join(", ", allowed.stream().sorted().toList()), null);
            }
            return Json.object();
        }
        req.headers().contentType().ifPresent(type -> {
            if (!type.mediaType().subtype().equals("json") && !type.mediaType().subtype().endsWith("+json")) {
                throw new Problem.Refused(Status.UNSUPPORTED_MEDIA_TYPE_415, "unsupported-media-type",
                        "the body must be application/json, got " + type.text(), "Content-Type");
            }
        });
        if (text.length() > MAX_BODY_CHARS) {
            throw new Problem.Refused(Status.REQUEST_ENTITY_TOO_LARGE_413, "body-too-large",
                    "the body is " + text.length() + " characters, more than " + MAX_BODY_CHARS, null);
        }
        JsonNode node;
        try {
            node = Json.parse(text);
        } catch (InvalidInputException e) {
            throw Problem.badRequest("the body is not valid JSON: " + e.getMessage().replaceFirst("^malformed JSON: ", ""), null);
        }
        if (node == null || !node.isObject()) {
            throw Problem.badRequest("the body must be a JSON object, got " + (node == null ? "nothing" : node.getNodeType().name().toLowerCase()), null);
        }
        node.fieldNames().forEachRemaining(name -> {
            if (!allowed.contains(name)) {
                throw Problem.badRequest("unknown field '" + clip(name) + "'; allowed: " + String.join(", ", allowed.stream().sorted().toList()), name);
            }
        });
        return (ObjectNode) node;
    }

    private static String reason(ObjectNode body, boolean required) {
        JsonNode r = body.get("reason");
        if (r == null || r.isNull()) {
            if (required) {
                throw Problem.badRequest("reason: required, say why", "reason");
            }
            return null;
        }
        if (!r.isTextual() || r.asText().isBlank() || r.asText().length() > 2000) {
            throw Problem.badRequest("reason: must be a non-empty string of at most 2000 characters", "reason");
        }
        return r.asText();
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
        throw Problem.badRequest("cursor: not a cursor from this API; pass next_cursor of the previous page", "cursor");
    }

    private static NotFoundException notFound(long id) {
        return new NotFoundException("no dead letter " + id, null);
    }

    private static String clip(String s) {
        return s == null ? "" : s.length() > 100 ? s.substring(0, 100) + "..." : s;
    }

    // ---- responses ----------------------------------------------------------------------------------------

    private static void sendJson(ServerResponse res, Status status, JsonNode body) {
        res.status(status);
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
