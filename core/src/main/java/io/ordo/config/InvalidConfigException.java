package io.ordo.config;

import io.ordo.InvalidInputException;

/** A config value was refused (unknown key, wrong type, out of range); nothing changed. */
public class InvalidConfigException extends InvalidInputException {
    private final String key;

    public InvalidConfigException(String key, String message) {
        super(message);
        this.key = key;
    }

    public InvalidConfigException(String key, String message, Throwable cause) {
        super(message, cause);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
