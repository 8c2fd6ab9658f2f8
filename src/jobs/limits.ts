/**
 * Where work stops fitting one invocation. The contract: no request, queue invocation or workflow
 * step makes more than 1,000 D1 queries plus Durable Object calls (test/budget.ts counts them).
 * Larger work runs as a job: a Cloudflare Workflow whose steps each stay within that budget.
 */

/** An import with more data lines than this is a job (POST /v1/imports/contacts answers 202). */
export const SYNC_IMPORT_LINES = 5_000;
/** An import body larger than this (Content-Length, or bytes read) is a job. */
export const SYNC_IMPORT_BYTES = 1024 * 1024;
/** The largest import a job takes: bytes of the upload… */
export const JOB_IMPORT_BYTES = 200 * 1024 * 1024;
/** …and data lines of the file. */
export const JOB_IMPORT_LINES = 1_000_000;
/**
 * Data lines per part of an import job (a byte range of the upload, read with an R2 range read).
 * A step imports its part until the importer's budget stops it (new contacts are cheap, changes to
 * existing ones cost their actors' calls); the next step goes on from that line of the same part.
 */
export const IMPORT_PART_LINES = 2_000;
/** Parts of an upload without Content-Length: R2 multipart parts (all but the last of one size, at least 5 MiB). */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

/** The synchronous CSV exports answer 413 above this many rows: POST /v1/exports/* makes them as jobs. */
export const SYNC_EXPORT_ROWS = 100_000;
/** Pages (of EXPORT_PAGE_SIZE rows) an export job writes per step, one query each… */
export const EXPORT_PAGES_PER_STEP = 50;
/** …or fewer, once a step's part of the file holds this many bytes (its memory). */
export const EXPORT_PART_BYTES = 16 * 1024 * 1024;
