package io.ordo.config;

/**
 * Queue-depth thresholds of one namespace ({@code backpressure.<namespace>.*}).
 *
 * @param warning            depth at which the namespace is reported under pressure
 * @param critical           depth above which submission is refused
 * @param shedBelowPriority  above the warning depth, work with a lower priority is shed first
 */
public record Backpressure(long warning, long critical, int shedBelowPriority) {
    public Backpressure {
        check(ConfigKeys.BACKPRESSURE_WARNING, warning);
        check(ConfigKeys.BACKPRESSURE_CRITICAL, critical);
        check(ConfigKeys.BACKPRESSURE_SHED_BELOW_PRIORITY, shedBelowPriority);
    }

    /** The thresholds of a namespace the config does not mention. */
    public static Backpressure defaults() {
        return new Backpressure((Long) ConfigKeys.require("backpressure.x.warning").defaultValue(),
                (Long) ConfigKeys.require("backpressure.x.critical").defaultValue(),
                ((Long) ConfigKeys.require("backpressure.x.shed_below_priority").defaultValue()).intValue());
    }

    private static void check(String pattern, long value) {
        String key = pattern.replace("*", "x");
        ConfigKeys.require(key).check(key, value);
    }
}
