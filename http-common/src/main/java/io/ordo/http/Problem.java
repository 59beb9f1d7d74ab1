package io.ordo.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.Json;

/**
 * An RFC 9457 problem: what went wrong with a request, as {@code application/problem+json}.
 *
 * @param type      a URI naming the kind of problem, {@code urn:ordo:problem:<slug>}
 * @param title     short summary of the kind of problem
 * @param status    HTTP status
 * @param detail    what went wrong with this request
 * @param instance  the request path
 * @param field     the request field at fault (a body field, path parameter, query parameter or header), or null
 */
public record Problem(String type, String title, int status, String detail, String instance, String field) {
    public static final String MEDIA_TYPE = "application/problem+json";

    public static Problem of(Status status, String slug, String detail, String instance, String field) {
        return new Problem("urn:ordo:problem:" + slug, status.reasonPhrase(), status.code(), detail, instance, field);
    }

    public String toJson() {
        ObjectNode body = Json.object();
        body.put("type", type);
        body.put("title", title);
        body.put("status", status);
        if (detail != null) {
            body.put("detail", detail);
        }
        if (instance != null) {
            body.put("instance", instance);
        }
        if (field != null) {
            body.put("field", field);
        }
        return body.toString();
    }

    /** Sends this problem as the response. */
    public void send(ServerResponse res) {
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, MEDIA_TYPE);
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(toJson());
    }
}
