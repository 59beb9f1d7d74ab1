package io.ordo.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.ordo.Json;
import io.ordo.OrdoException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reading requests safely: bodies up to a size limit, JSON that refuses unknown and duplicate fields and
 * trailing data, and path and query parameters that are checked before they reach SQL.
 */
public final class Requests {
    /** Namespace names, as the SQL functions enforce them. */
    public static final Pattern NAMESPACE = Pattern.compile("[a-z][a-z0-9_]{0,39}");
    /** Template and step names. */
    public static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,63}");
    /** Template versions: 1, 1.2 or 1.2.3. */
    public static final Pattern VERSION = Pattern.compile("[0-9]{1,9}(\\.[0-9]{1,9}){0,2}");
    private static final int MAX_ID_CHARS = 19;

    private final long maxBodyBytes;

    public Requests(long maxBodyBytes) {
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("maxBodyBytes must be positive, got " + maxBodyBytes);
        }
        this.maxBodyBytes = maxBodyBytes;
    }

    public long maxBodyBytes() {
        return maxBodyBytes;
    }

    /**
     * The largest body the server reads at all: a body above {@link #maxBodyBytes()} but below this is read and
     * discarded before the 413 goes out, so the client sees the answer instead of a reset connection; above it
     * the server refuses before routing and closes the connection.
     */
    public static long drainLimit(long maxBodyBytes) {
        return Math.max(1024 * 1024, 4 * maxBodyBytes);
    }

    /** The body, refused with 413 past the limit (whether its length was announced or not). */
    public byte[] bytes(ServerRequest req) {
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        try (InputStream in = req.content().inputStream()) {
            var declared = req.headers().contentLength();
            if (declared.isPresent() && declared.getAsLong() > maxBodyBytes) {
                drain(in);
                throw new BodyTooLargeException(maxBodyBytes);
            }
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
            if (body.length > maxBodyBytes) {
                drain(in);
                throw new BodyTooLargeException(maxBodyBytes);
            }
            return body;
        } catch (IOException e) {
            throw new OrdoException("could not read the request body: " + e.getMessage(), e);
        } catch (io.helidon.http.RequestException e) {
            if (e.status().code() == io.helidon.http.Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
                throw new BodyTooLargeException(maxBodyBytes); // the server cut the body off at the drain limit
            }
            throw e;
        }
    }

    private void drain(InputStream in) throws IOException {
        long budget = drainLimit(maxBodyBytes);
        byte[] buffer = new byte[64 * 1024];
        int n;
        while (budget > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, budget))) > 0) {
            budget -= n;
        }
    }

    /** The body as UTF-8 text; an empty body is refused. */
    public String text(ServerRequest req) {
        byte[] body = bytes(req);
        if (body.length == 0) {
            throw new InvalidFieldException("body", "the request needs a body");
        }
        return new String(body, StandardCharsets.UTF_8);
    }

    /** The body as JSON mapped onto {@code type}; unknown fields, duplicate fields and trailing data are refused. */
    public <T> T json(ServerRequest req, Class<T> type) {
        byte[] body = bytes(req);
        if (body.length == 0) {
            throw new InvalidFieldException("body", "the request needs a JSON body");
        }
        return parse(body, type);
    }

    /** JSON bytes mapped onto {@code type} with the same refusals as {@link #json}. */
    public static <T> T parse(byte[] body, Class<T> type) {
        ObjectReader reader = Json.MAPPER.readerFor(type)
                .with(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_TRAILING_TOKENS,
                        DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        try {
            T value = reader.readValue(body);
            if (value == null) {
                throw new InvalidFieldException("body", "the body must be a JSON object, got null");
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            String field = path(e);
            String known = e.getKnownPropertyIds() == null ? "" : "; known fields: "
                    + e.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", "));
            throw new InvalidFieldException(field, "unknown field '" + field + "'" + known, e);
        } catch (JsonMappingException e) {
            for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
                if (t instanceof OrdoException ordo) {
                    throw ordo; // a record refused a value in its constructor
                }
            }
            String field = path(e);
            throw new InvalidFieldException(field.isEmpty() ? "body" : field,
                    (field.isEmpty() ? "" : "field '" + field + "': ") + e.getOriginalMessage(), e);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new InvalidFieldException("body", "malformed JSON" + where + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new InvalidFieldException("body", "unreadable body: " + e.getMessage(), e);
        }
    }

    private static String path(JsonMappingException e) {
        StringBuilder out = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (!out.isEmpty()) {
                    out.append('.');
                }
                out.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                out.append('[').append(ref.getIndex()).append(']');
            }
        }
        return out.toString();
    }

    /** A positive 64-bit id from the path. */
    public static long id(ServerRequest req, String param) {
        String raw = req.path().pathParameters().get(param);
        if (raw.isEmpty() || raw.length() > MAX_ID_CHARS || !raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new InvalidFieldException(param, param + " must be a positive integer, got '" + shorten(raw) + "'");
        }
        try {
            long id = Long.parseLong(raw);
            if (id < 1) {
                throw new NumberFormatException();
            }
            return id;
        } catch (NumberFormatException e) {
            throw new InvalidFieldException(param, param + " must be a positive integer up to " + Long.MAX_VALUE + ", got '"
                    + shorten(raw) + "'");
        }
    }

    /** A path parameter that must match {@code pattern}. */
    public static String pathParam(ServerRequest req, String param, Pattern pattern) {
        return check(param, req.path().pathParameters().get(param), pattern);
    }

    /** The value if it matches {@code pattern}, else a 400 naming the field. */
    public static String check(String field, String value, Pattern pattern) {
        if (value == null || !pattern.matcher(value).matches()) {
            throw new InvalidFieldException(field, field + " must match ^" + pattern.pattern() + "$, got "
                    + (value == null ? "nothing" : "'" + shorten(value) + "'"));
        }
        return value;
    }

    /** A single-valued query parameter, if present. */
    public static Optional<String> query(ServerRequest req, String name) {
        var values = req.query().contains(name) ? req.query().all(name) : java.util.List.<String>of();
        if (values.size() > 1) {
            throw new InvalidFieldException(name, "query parameter " + name + " may be given once");
        }
        return values.stream().findFirst();
    }

    /** An integer query parameter between min and max, or the default. */
    public static int intQuery(ServerRequest req, String name, int defaultValue, int min, int max) {
        Optional<String> raw = query(req, name);
        if (raw.isEmpty()) {
            return defaultValue;
        }
        try {
            int value = Integer.parseInt(raw.get());
            if (value < min || value > max) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new InvalidFieldException(name, name + " must be an integer between " + min + " and " + max + ", got '"
                    + shorten(raw.get()) + "'");
        }
    }

    /** The value of a request header, if present. */
    public static Optional<String> header(ServerRequest req, String name) {
        return req.headers().first(HeaderNames.create(name));
    }

    /** A value cut to a length that is safe to echo in an error. */
    public static String shorten(String value) {
        if (value == null) {
            return "null";
        }
        String printable = value.replaceAll("\\p{Cntrl}", "?");
        return printable.length() <= 64 ? printable : printable.substring(0, 64) + "...";
    }
}
