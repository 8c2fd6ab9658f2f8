ALTER TABLE `contacts` ADD `email_hash` text;--> statement-breakpoint
ALTER TABLE `contacts` ADD `phone_hash` text;