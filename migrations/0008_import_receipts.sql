-- Import receipts (src/imports/receipts.ts): a re-imported line that a contact already satisfies at
-- the same version is unchanged without a lookup. New and empty: nothing to backfill.
CREATE TABLE `import_receipts` (
	`contact_id` text PRIMARY KEY NOT NULL,
	`line_hash` integer NOT NULL,
	`version` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `import_receipts_line_hash` ON `import_receipts` (`line_hash`);