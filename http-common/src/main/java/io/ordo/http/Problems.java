package io.ordo.http;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpException;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.opentelemetry.api.trace.Span;
import io.ordo.InvalidInputException;
import io.ordo.NotFoundException;
import io.ordo.http.auth.AuthenticationException;
import io.ordo.http.auth.RoleRequiredException;
import io.ordo.queue.QueueNotFoundException;
import io.ordo.task.BackpressureException;
import io.ordo.template.TemplateConflictException;

import java.nio.charset.StandardCharsets;

/**
 * The one place where failures become HTTP responses: every error is an RFC 9457 problem. Register it on
 * each routing with {@link #register(HttpRouting.Builder)} and on the server with {@link #directHandlers()}
 * (for requests refused before routing, such as an oversized body).
 */
public final class Problems {
    private static final System.Logger LOG = System.getLogger(Problems.class.getName());

    private Problems() {
    }

    public static void register(HttpRouting.Builder routing) {
        routing.error(Throwable.class, Problems::handle);
    }

    private static void handle(ServerRequest req, ServerResponse res, Throwable error) {
        if (res.isSent()) {
            LOG.log(System.Logger.Level.WARNING, "request failed after its response was sent: " + req.prologue().method().text()
                    + " " + req.path().rawPath(), error);
            return;
        }
        Problem problem = toProblem(error, req.path().rawPath());
        if (problem.status() >= 500) {
            LOG.log(System.Logger.Level.ERROR, "request failed: " + req.prologue().method().text() + " " + req.path().rawPath(), error);
        }
        if (problem.status() == Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
            // the rest of the body is still on the wire: the connection cannot carry another request
            res.header(HeaderNames.CONNECTION, "close");
        }
        switch (error) {
            case AuthenticationException ignored -> res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"ordo\"");
            case BackpressureException b -> res.header(HeaderNames.RETRY_AFTER,
                    Long.toString(Math.max(1, (b.retryAfter().toMillis() + 999) / 1000)));
            default -> { }
        }
        problem.send(res);
    }

    /** The problem a failure stands for. */
    public static Problem toProblem(Throwable error, String instance) {
        return switch (error) {
            case InvalidFieldException e -> Problem.of(Status.BAD_REQUEST_400, "invalid-input", e.getMessage(), instance, e.field());
            case InvalidInputException e -> Problem.of(Status.BAD_REQUEST_400, "invalid-input", e.getMessage(), instance, null);
            case BodyTooLargeException e -> Problem.of(Status.REQUEST_ENTITY_TOO_LARGE_413, "body-too-large", e.getMessage(), instance, "body");
            case AuthenticationException e -> Problem.of(Status.UNAUTHORIZED_401, "unauthenticated", e.getMessage(), instance, "Authorization");
            case RoleRequiredException e -> Problem.of(Status.FORBIDDEN_403, "forbidden", e.getMessage(), instance, null);
            case NotFoundException e -> Problem.of(Status.NOT_FOUND_404, "not-found", e.getMessage(), instance, null);
            case QueueNotFoundException e -> Problem.of(Status.NOT_FOUND_404, "not-found", e.getMessage(), instance, null);
            case TemplateConflictException e -> Problem.of(Status.CONFLICT_409, "conflict", e.getMessage(), instance, null);
            case ConflictException e -> Problem.of(Status.CONFLICT_409, "conflict", e.getMessage(), instance, null);
            case BackpressureException e -> Problem.of(Status.TOO_MANY_REQUESTS_429, "backpressure", e.getMessage(), instance, null);
            case RequestException e -> fromStatus(e.status(), e.getMessage(), instance);
            case HttpException e -> fromStatus(e.status(), e.getMessage(), instance);
            default -> Problem.of(Status.INTERNAL_SERVER_ERROR_500, "internal",
                    "internal error; the server log has the details" + traceHint(), instance, null);
        };
    }

    private static Problem fromStatus(Status status, String message, String instance) {
        if (status.code() == Status.NOT_FOUND_404.code()) {
            return Problem.of(status, "not-found", "no such resource: " + instance, instance, null);
        }
        if (status.code() == Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
            return Problem.of(status, "body-too-large", "the request body is larger than the server accepts", instance, "body");
        }
        if (status.code() >= 500) {
            return Problem.of(status, "internal", "internal error; the server log has the details" + traceHint(), instance, null);
        }
        return Problem.of(status, slug(status), message, instance, null);
    }

    private static String slug(Status status) {
        return status.reasonPhrase().toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    }

    private static String traceHint() {
        var span = Span.current().getSpanContext();
        return span.isValid() ? " (trace " + span.getTraceId() + ")" : "";
    }

    /** Problem responses for requests the server refuses before routing them (bad request line, body too large). */
    public static DirectHandlers directHandlers() {
        DirectHandler handler = (request, eventType, status, headers, message) -> {
            Problem problem = fromStatus(status, message == null || message.isBlank() ? status.reasonPhrase() : message, request.path());
            DirectHandler.TransportResponse.Builder response = DirectHandler.TransportResponse.builder();
            if (!eventType.keepAlive()) {
                response.header(HeaderNames.CONNECTION, "close");
            }
            return response
                    .status(status)
                    .header(HeaderNames.CONTENT_TYPE, Problem.MEDIA_TYPE)
                    .entity(problem.toJson().getBytes(StandardCharsets.UTF_8))
                    .keepAlive(eventType.keepAlive())
                    .build();
        };
        DirectHandlers.Builder builder = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            builder.addHandler(type, handler);
        }
        return builder.build();
    }
}
