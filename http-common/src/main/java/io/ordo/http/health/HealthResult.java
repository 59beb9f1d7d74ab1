package io.ordo.http.health;

/** The outcome of one health check: up or down, and why. */
public record HealthResult(boolean up, String detail) {
    public static HealthResult up(String detail) {
        return new HealthResult(true, detail);
    }

    public static HealthResult down(String detail) {
        return new HealthResult(false, detail);
    }
}
