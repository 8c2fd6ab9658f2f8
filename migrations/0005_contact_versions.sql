ALTER TABLE `contacts` ADD `version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `contacts_email` ON `contacts` (`email`);--> statement-breakpoint
CREATE INDEX `contacts_phone` ON `contacts` (`phone`);--> statement-breakpoint
-- Optimistic concurrency for the contacts' actors: every update must set version to the version it
-- read plus one. An actor that writes over a version someone else has bumped since (a migration, an
-- import, another writer) fails its whole batch and reloads the contact; nothing is overwritten.
CREATE TRIGGER `contacts_version_guard` BEFORE UPDATE ON `contacts`
WHEN NEW.`version` IS NOT OLD.`version` + 1
BEGIN
	SELECT RAISE(ABORT, 'contact version conflict');
END;
