-- Begin times of the consent state, for contacts stored before the reducer kept them: per channel
-- `lastOptedOutAt` (when the latest opt-out period began) and `returnedAt` (the opt-in that ended
-- it, while opted in), per topic `statusSince` (when its current status began) and `blockedAt`
-- (when the block in force began). From the current state and the ledger:
--
-- - Channels: the contact's preference events of each channel in time order (occurred_at, then
--   ledger id: the order the reducer's replay folds them in). An opt-out period begins at the first
--   opt-out after an opt-in and ends at the first opt-in after its last opt-out. Opt-outs are
--   `Opt Out` (of the channel or of all) and `Complaint`; opt-ins `Opt In` and a `Confirm
--   Subscription` that opened the channel (one with a topic always does; one without a topic when
--   it names the channel and changed something, or when its row recorded the channel's opt-in — a
--   replay may have recorded that elsewhere). When the ledger cannot tell, `optedOutAt` stands in.
-- - Topics: when every preference event of the contact arrived in time order (no replay ever ran),
--   the latest ledger row that recorded the change to the current status, which is then exact.
--   Otherwise, in time order, the first event of the topic's trailing run of events that set or
--   kept its current status (`Unsubscribe`; `Confirm Subscription`; `Subscribe`: pending on
--   double-opt-in topics or when confirmation was required, else subscribed). Either one when the
--   other finds none; `changedAt` when neither does.
-- - Blocks (facts, applied in arrival order): the first `Block` after the last `Unblock`.
--
-- Every contact row written raises its version by one (the contacts_version_guard trigger): a
-- contact's actor holding the row from before reloads it. updated_at is left alone: nothing the
-- person said changed.
CREATE TABLE `_channel_moves` (
	`contact_id` text NOT NULL,
	`channel` text NOT NULL,
	`occurred_at` text NOT NULL,
	`id` integer NOT NULL,
	`out` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `_channel_moves` (`contact_id`, `channel`, `occurred_at`, `id`, `out`)
SELECT l.contact_id, ch.name, l.occurred_at, l.id, l.event IN ('Opt Out', 'Complaint')
FROM ledger AS l
JOIN contacts AS c ON c.id = l.contact_id
JOIN (SELECT 'email' AS name UNION ALL SELECT 'sms' UNION ALL SELECT 'whatsapp' UNION ALL SELECT 'push') AS ch
WHERE (l.event IN ('Opt Out', 'Opt In') AND (l.channel IS NULL OR l.channel = ch.name))
	OR (l.event = 'Complaint' AND coalesce(l.channel, 'email') = ch.name)
	OR (l.event = 'Confirm Subscription' AND (
		(l.channel = ch.name AND (l.topic IS NOT NULL OR l.changed = 1))
		OR EXISTS (
			SELECT 1 FROM json_each(l.changes) AS x
			WHERE x.value ->> 'field' = 'channels.' || ch.name || '.optedOut' AND x.value ->> 'to' = 0
		)
	));
--> statement-breakpoint
CREATE INDEX `_channel_moves_order` ON `_channel_moves` (`contact_id`, `channel`, `out`, `occurred_at`, `id`);
--> statement-breakpoint
-- Per topic event: 1 when it sets the status of its column (unsubscribed, subscribed, pending),
-- -1 when it sets another one, 0 when it may keep either.
CREATE TABLE `_topic_moves` (
	`contact_id` text NOT NULL,
	`topic` text NOT NULL,
	`occurred_at` text NOT NULL,
	`id` integer NOT NULL,
	`unsubscribed` integer NOT NULL,
	`subscribed` integer NOT NULL,
	`pending` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `_topic_moves` (`contact_id`, `topic`, `occurred_at`, `id`, `unsubscribed`, `subscribed`, `pending`)
SELECT l.contact_id, l.topic, l.occurred_at, l.id,
	CASE WHEN l.event = 'Unsubscribe' THEN 1 ELSE -1 END,
	CASE
		WHEN l.event = 'Unsubscribe' THEN -1
		WHEN l.event = 'Confirm Subscription' THEN 1
		WHEN l.properties ->> '$.confirmationRequired' = 1 THEN -1
		-- A Subscribe to a double-opt-in topic: pending, or subscribed kept.
		WHEN t.double_opt_in = 1 THEN 0
		ELSE 1
	END,
	CASE
		WHEN l.event IN ('Unsubscribe', 'Confirm Subscription') THEN -1
		WHEN l.properties ->> '$.confirmationRequired' = 1 OR t.double_opt_in = 1 THEN 1
		ELSE -1
	END
FROM ledger AS l
JOIN contacts AS c ON c.id = l.contact_id
LEFT JOIN topics AS t ON t.key = l.topic
WHERE l.topic IS NOT NULL AND l.event IN ('Subscribe', 'Unsubscribe', 'Confirm Subscription');
--> statement-breakpoint
-- A Confirm Subscription without a topic confirms every pending topic (of its channel).
INSERT INTO `_topic_moves` (`contact_id`, `topic`, `occurred_at`, `id`, `unsubscribed`, `subscribed`, `pending`)
SELECT l.contact_id, tk.key, l.occurred_at, l.id, 0, 0, -1
FROM ledger AS l
JOIN contacts AS c ON c.id = l.contact_id
JOIN json_each(c.consent, '$.topics') AS tk
WHERE l.event = 'Confirm Subscription' AND l.topic IS NULL
	AND (l.channel IS NULL OR l.channel = tk.value ->> 'channel');
--> statement-breakpoint
CREATE INDEX `_topic_moves_order` ON `_topic_moves` (`contact_id`, `topic`, `occurred_at`, `id`);
--> statement-breakpoint
-- The time order's answer per topic of each contact.
CREATE TABLE `_topic_since` (
	`contact_id` text NOT NULL,
	`topic` text NOT NULL,
	`since` text,
	PRIMARY KEY (`contact_id`, `topic`)
);
--> statement-breakpoint
INSERT INTO `_topic_since` (`contact_id`, `topic`, `since`)
SELECT c.id, tp.key, (
	SELECT min(m.occurred_at) FROM `_topic_moves` AS m
	WHERE m.contact_id = c.id AND m.topic = tp.key
		AND CASE tp.value ->> 'status' WHEN 'unsubscribed' THEN m.unsubscribed WHEN 'subscribed' THEN m.subscribed ELSE m.pending END = 1
		AND NOT EXISTS (
			SELECT 1 FROM `_topic_moves` AS b
			WHERE b.contact_id = m.contact_id AND b.topic = m.topic
				AND CASE tp.value ->> 'status' WHEN 'unsubscribed' THEN b.unsubscribed WHEN 'subscribed' THEN b.subscribed ELSE b.pending END = -1
				AND (b.occurred_at, b.id) > (m.occurred_at, m.id)
		)
)
FROM contacts AS c JOIN json_each(c.consent, '$.topics') AS tp;
--> statement-breakpoint
-- Contacts with a preference event older than one that arrived before it: its arrival replayed
-- their preferences, so their ledger rows' changes need not be those of the time order.
CREATE TABLE `_late_contacts` (`contact_id` text PRIMARY KEY NOT NULL);
--> statement-breakpoint
INSERT INTO `_late_contacts` (`contact_id`)
SELECT DISTINCT contact_id FROM (
	SELECT l.contact_id, l.occurred_at, max(l.occurred_at) OVER (
		PARTITION BY l.contact_id ORDER BY l.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
	) AS clock
	FROM ledger AS l
	WHERE l.event IN ('Opt Out', 'Opt In', 'Subscribe', 'Confirm Subscription', 'Unsubscribe', 'Complaint')
) WHERE occurred_at < clock;
--> statement-breakpoint
UPDATE contacts SET
	version = version + 1,
	consent = json_set(
		CASE WHEN consent ->> '$.blocked' = 1 THEN json_set(consent, '$.blockedAt', coalesce(
			(SELECT b.occurred_at FROM ledger AS b
			 WHERE b.contact_id = contacts.id AND b.event = 'Block'
				AND b.id > coalesce((SELECT max(u.id) FROM ledger AS u WHERE u.contact_id = contacts.id AND u.event = 'Unblock'), 0)
			 ORDER BY b.id LIMIT 1),
			contacts.updated_at
		)) ELSE consent END,
		'$.channels', json((
			SELECT json_group_object(ch.key, json_set(ch.value,
				'$.lastOptedOutAt', CASE
					WHEN ch.value ->> 'optedOut' = 1 THEN coalesce((
						SELECT min(m.occurred_at) FROM `_channel_moves` AS m
						WHERE m.contact_id = contacts.id AND m.channel = ch.key AND m.out = 1
							AND NOT EXISTS (
								SELECT 1 FROM `_channel_moves` AS i
								WHERE i.contact_id = m.contact_id AND i.channel = m.channel AND i.out = 0
									AND (i.occurred_at, i.id) > (m.occurred_at, m.id)
							)
					), ch.value ->> 'optedOutAt')
					-- Opted in: the opt-outs after which no opt-in came before the last opt-out.
					ELSE (
						SELECT min(m.occurred_at) FROM `_channel_moves` AS m
						WHERE m.contact_id = contacts.id AND m.channel = ch.key AND m.out = 1
							AND NOT EXISTS (
								SELECT 1 FROM `_channel_moves` AS i
								WHERE i.contact_id = m.contact_id AND i.channel = m.channel AND i.out = 0
									AND (i.occurred_at, i.id) > (m.occurred_at, m.id)
									AND (i.occurred_at, i.id) < (
										SELECT o.occurred_at, o.id FROM `_channel_moves` AS o
										WHERE o.contact_id = m.contact_id AND o.channel = m.channel AND o.out = 1
										ORDER BY o.occurred_at DESC, o.id DESC LIMIT 1
									)
							)
					)
				END,
				'$.returnedAt', CASE
					WHEN ch.value ->> 'optedOut' = 1 THEN NULL
					-- Opted in: the first opt-in after the last opt-out (none: never opted out).
					WHEN NOT EXISTS (
						SELECT 1 FROM `_channel_moves` AS o WHERE o.contact_id = contacts.id AND o.channel = ch.key AND o.out = 1
					) THEN NULL
					ELSE coalesce((
						SELECT min(i.occurred_at) FROM `_channel_moves` AS i
						WHERE i.contact_id = contacts.id AND i.channel = ch.key AND i.out = 0
							AND (i.occurred_at, i.id) > (
								SELECT o.occurred_at, o.id FROM `_channel_moves` AS o
								WHERE o.contact_id = contacts.id AND o.channel = ch.key AND o.out = 1
								ORDER BY o.occurred_at DESC, o.id DESC LIMIT 1
							)
					), ch.value ->> 'optedOutAt')
				END
			))
			FROM json_each(contacts.consent, '$.channels') AS ch
		)),
		'$.topics', json((
			SELECT json_group_object(tp.key, json_set(tp.value, '$.statusSince', coalesce(
				CASE WHEN contacts.id IN (SELECT contact_id FROM `_late_contacts`) THEN (
					SELECT s.since FROM `_topic_since` AS s WHERE s.contact_id = contacts.id AND s.topic = tp.key
				) END,
				(
					SELECT max(l.occurred_at) FROM ledger AS l JOIN json_each(l.changes) AS x
					WHERE l.contact_id = contacts.id
						AND x.value ->> 'field' = 'topics.' || tp.key || '.status'
						AND x.value ->> 'to' = tp.value ->> 'status'
				),
				(SELECT s.since FROM `_topic_since` AS s WHERE s.contact_id = contacts.id AND s.topic = tp.key),
				tp.value ->> 'changedAt'
			)))
			FROM json_each(contacts.consent, '$.topics') AS tp
		))
	)
WHERE consent ->> '$.blocked' = 1
	OR EXISTS (SELECT 1 FROM json_each(contacts.consent, '$.channels'))
	OR EXISTS (SELECT 1 FROM json_each(contacts.consent, '$.topics'));
--> statement-breakpoint
DROP TABLE `_channel_moves`;
--> statement-breakpoint
DROP TABLE `_topic_moves`;
--> statement-breakpoint
DROP TABLE `_topic_since`;
--> statement-breakpoint
DROP TABLE `_late_contacts`;
