package io.ordo.http;

import io.ordo.OrdoException;

/** A request body was larger than the server accepts. */
public class BodyTooLargeException extends OrdoException {
    private final long limitBytes;

    public BodyTooLargeException(long limitBytes) {
        super("the request body is larger than the limit of " + limitBytes + " bytes");
        this.limitBytes = limitBytes;
    }

    public long limitBytes() {
        return limitBytes;
    }
}
