CREATE TABLE `dead_letters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`queue` text NOT NULL,
	`body` text NOT NULL,
	`attempts` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `webhook_tokens` (
	`provider` text NOT NULL,
	`token` text NOT NULL,
	`expires_at` text NOT NULL,
	PRIMARY KEY(`provider`, `token`)
);
--> statement-breakpoint
CREATE INDEX `webhook_tokens_expires_at` ON `webhook_tokens` (`expires_at`);