CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`business_units` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE TABLE `blocklist` (
	`address` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`external_id` text,
	`email` text,
	`business_unit` text NOT NULL,
	`phone` text,
	`traits` text DEFAULT '{}' NOT NULL,
	`consent` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_external_id` ON `contacts` (`external_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_business_unit_email` ON `contacts` (`business_unit`,`email`);--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_business_unit_phone` ON `contacts` (`business_unit`,`phone`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`contact_id` text NOT NULL,
	`key` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`contact_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`contact_id` text NOT NULL,
	`event` text NOT NULL,
	`channel` text,
	`topic` text,
	`changes` text NOT NULL,
	`changed` integer NOT NULL,
	`properties` text DEFAULT '{}' NOT NULL,
	`source` text NOT NULL,
	`reason` text,
	`feedback` text,
	`ip` text,
	`user_agent` text,
	`campaign` text,
	`idempotency_key` text,
	`occurred_at` text NOT NULL,
	`received_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ledger_contact` ON `ledger` (`contact_id`,`id`);--> statement-breakpoint
CREATE INDEX `ledger_occurred_at` ON `ledger` (`occurred_at`);--> statement-breakpoint
CREATE INDEX `ledger_event_occurred_at` ON `ledger` (`event`,`occurred_at`);--> statement-breakpoint
CREATE TABLE `topics` (
	`key` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`channel` text NOT NULL,
	`double_opt_in` integer DEFAULT false NOT NULL,
	`business_unit` text,
	`provider_refs` text DEFAULT '{}' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
