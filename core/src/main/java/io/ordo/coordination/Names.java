package io.ordo.coordination;

import io.ordo.InvalidInputException;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;

/** Argument checks both adapters share, so both refuse the same input with the same message. */
final class Names {
    private static final Pattern CHANNEL = Pattern.compile("^[a-z][a-z0-9_.]{0,62}$");
    static final int MAX_PAYLOAD_BYTES = 7999;

    private Names() {
    }

    static String channel(String channel) {
        if (channel == null || !CHANNEL.matcher(channel).matches()) {
            throw new InvalidInputException("channel must match " + CHANNEL.pattern() + ", got " + channel);
        }
        return channel;
    }

    static String payload(String channel, String payload) {
        if (payload == null) {
            throw new InvalidInputException("payload must not be null (channel " + channel + ")");
        }
        int bytes = payload.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_PAYLOAD_BYTES) {
            throw new InvalidInputException("payload on channel " + channel + " is " + bytes + " bytes, at most "
                    + MAX_PAYLOAD_BYTES + " are allowed");
        }
        return payload;
    }

    static String text(String what, String value) {
        if (value == null || value.isEmpty() || value.length() > 512) {
            throw new InvalidInputException(what + " must be 1 to 512 characters, got "
                    + (value == null ? "null" : value.length() + " characters"));
        }
        return value;
    }

    static String value(String key, String value) {
        if (value == null) {
            throw new InvalidInputException("value of key " + key + " must not be null");
        }
        return value;
    }

    /** A TTL that must be positive; null is allowed only where {@code optional}. */
    static Duration ttl(String what, Duration ttl, boolean optional) {
        if (ttl == null && optional) {
            return null;
        }
        if (ttl == null || ttl.isNegative() || ttl.isZero()) {
            throw new InvalidInputException("ttl of " + what + " must be positive, got " + ttl);
        }
        return ttl;
    }

    static Duration timeout(String what, Duration timeout) {
        if (timeout == null || timeout.isNegative()) {
            throw new InvalidInputException("timeout of " + what + " must not be negative, got " + timeout);
        }
        return timeout;
    }

    static String nodeId(String nodeId) {
        if (nodeId == null || nodeId.isEmpty()) {
            throw new InvalidInputException("node id must not be empty");
        }
        return nodeId;
    }
}
