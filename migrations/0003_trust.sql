ALTER TABLE `dead_letters` ADD `business_unit` text;--> statement-breakpoint
UPDATE `dead_letters` SET `business_unit` = CASE WHEN json_valid(`body`) THEN coalesce(json_extract(`body`, '$.event.contact.businessUnit'), lower(trim(json_extract(`body`, '$.event.businessUnit')))) END;--> statement-breakpoint
ALTER TABLE `suppressions` ADD `reasons` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
UPDATE `suppressions` SET `reasons` = json_array(`reason`);--> statement-breakpoint
ALTER TABLE `suppressions` DROP COLUMN `reason`;
