package io.ordo.dlq;

import java.time.Instant;

/**
 * One entry of a dead letter's history ({@code ordo.dead_letter_event}): who did what, when and why.
 *
 * @param deadLetterId  null for an alert, which concerns a namespace
 * @param kind          classified, requeued, auto_requeued, discarded or alerted
 * @param detail        JSON text, or null
 */
public record DeadLetterEvent(long id, Long deadLetterId, String namespace, String kind, String actor, String reason,
                              String detail, Instant at) {
}
