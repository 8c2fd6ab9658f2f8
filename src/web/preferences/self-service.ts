/**
 * Self-service from the preference center, only through its signed manage link (GDPR art. 15/20
 * access and portability, art. 17 erasure):
 *
 * - `GET /p/{token}/download`: the person's record as a JSON file: the contact as the API shows it
 *   (`toContactJson`, effective statuses) and the whole ledger (the rows of
 *   `GET /v1/users/{id}/history`). A read: it changes nothing and never makes a lead.
 * - `GET /p/{token}/erase`: what erasure means, with the button that asks for it. Renders only.
 * - `POST /p/{token}/erase`: with `confirm=erase`, from our own page (`fromOwnPage`), the API's
 *   erasure (`eraseContact`, the `Erase` row with source `preference_center`). Without the field it
 *   shows the confirmation again; with nothing (left) to erase, a page that says so.
 *
 * A link without a contact behind it (an address never seen, or erased already) gets the same
 * answers whichever it is.
 */
import { toContactJson } from "../../api/contact-json";
import { eraseContact } from "../../contacts/erase";
import { type LinkFailure, resolveLink } from "../../contacts/link-target";
import type { Contact } from "../../db/contacts";
import { type LedgerRow, loadHistory } from "../../db/ledger";
import type { Bindings } from "../../env";
import { toApiError } from "../../http/errors";
import type { PageShell } from "../common/layout";
import { maskedAddressOf } from "../common/mask";
import {
	errorPage,
	failurePage,
	first,
	PAGE_HEADERS,
	type PageContext,
	page,
	pageRouter,
	pageShell,
	readForm,
	type ShellOptions,
} from "../common/page";
import { fromOwnPage } from "../common/same-origin";
import {
	renderEraseConfirmPage,
	renderErasedPage,
	renderNothingToErasePage,
	renderRefusedPage,
} from "./self-service-view";

export const selfServiceRouter = pageRouter();

/** Who the link is for: the contact, or none (an address without one, or a contact erased since). */
interface Holder {
	contact: Contact | null;
	businessUnit: string | null;
	address: string | null;
}

type Found = { ok: true; holder: Holder } | { ok: false; failure: LinkFailure };

async function holderOf(c: PageContext, token: string): Promise<Found> {
	const resolved = await resolveLink(c.env, token, "manage");
	if (resolved.ok) {
		const { target } = resolved;
		return {
			ok: true,
			holder: { contact: target.contact, businessUnit: target.businessUnit, address: maskedAddressOf(target) },
		};
	}
	// A contact id or externalId whose contact is gone (erased, most likely): nothing held, as for
	// an address never seen. Any other failure (a bad token, a topic deleted) is the usual page.
	if (resolved.failure.contactMissing)
		return { ok: true, holder: { contact: null, businessUnit: null, address: null } };
	return resolved;
}

const shellOf = (c: PageContext, holder: Holder, options: Partial<ShellOptions> = {}) =>
	pageShell(c, { businessUnit: holder.businessUnit, address: holder.address, ...options });

/** A page of its own for the link's holder, in their language and branding. */
function answer(c: PageContext, holder: Holder, render: (shell: PageShell) => string, status: 200 | 403 = 200) {
	const shell = shellOf(c, holder);
	return page(c, shell, render(shell), status);
}

/** The confirmation, sent with `Referrer-Policy: same-origin` so that its own POST carries our origin. */
function confirmation(c: PageContext, holder: Holder, token: string) {
	const shell = shellOf(c, holder, { referrerPolicy: "same-origin" });
	return page(c, shell, renderEraseConfirmPage({ shell, token }));
}

/** Rows per ledger read for the download: the API's largest history page. */
const LEDGER_PAGE = 1000;

/** The whole ledger of a contact, oldest first: the API's history pages, read to the end. */
async function wholeLedger(env: Bindings, contactId: string): Promise<LedgerRow[]> {
	const rows: LedgerRow[] = [];
	let cursor: string | undefined;
	do {
		const batch = await loadHistory(env, contactId, cursor, LEDGER_PAGE);
		rows.push(...batch.events);
		cursor = batch.nextCursor ?? undefined;
	} while (cursor);
	return rows;
}

selfServiceRouter.get("/p/:token/download", async (c) => {
	const found = await holderOf(c, c.req.param("token"));
	if (!found.ok) return failurePage(c, found.failure);
	const { contact } = found.holder;
	const exportedAt = new Date().toISOString();
	const record = contact
		? { exportedAt, contact: toContactJson(contact), ledger: await wholeLedger(c.env, contact.id) }
		: { exportedAt, contact: null, ledger: [], note: shellOf(c, found.holder).t("selfService.none") };
	return c.body(`${JSON.stringify(record, null, 2)}\n`, 200, {
		...PAGE_HEADERS,
		"content-type": "application/json; charset=utf-8",
		"content-disposition": `attachment; filename="consent-record-${exportedAt.slice(0, 10)}.json"`,
	});
});

selfServiceRouter.get("/p/:token/erase", async (c) => {
	const token = c.req.param("token");
	const found = await holderOf(c, token);
	if (!found.ok) return failurePage(c, found.failure);
	const { holder } = found;
	if (!holder.contact) return answer(c, holder, (shell) => renderNothingToErasePage({ shell }));
	return confirmation(c, holder, token);
});

selfServiceRouter.post("/p/:token/erase", async (c) => {
	const token = c.req.param("token");
	const form = await readForm(c);
	const found = await holderOf(c, token);
	if (!found.ok) return failurePage(c, found.failure);
	const { holder } = found;
	// The signed link is not enough for something that cannot be undone: the post must come from
	// our own confirmation page, as for the admin dashboard's posts.
	if (!fromOwnPage(c)) return answer(c, holder, (shell) => renderRefusedPage({ shell }), 403);
	if (!form) return errorPage(c, 400, "error.invalid", holder.businessUnit);
	const nothing = () => answer(c, holder, (shell) => renderNothingToErasePage({ shell }));
	if (!holder.contact) return nothing();
	// Only the confirmation page's button says so; anything else shows that page (again).
	if (first(form, "confirm") !== "erase") return confirmation(c, holder, token);
	let suppressed: boolean;
	try {
		({ suppressed } = await eraseContact(c.env, holder.contact.id, c.req.raw, "preference_center"));
	} catch (error) {
		// Erased by a concurrent post (a double submit) between the lookup and the actor's lock.
		if (toApiError(error)?.status === 404) return nothing();
		throw error;
	}
	return answer(c, holder, (shell) => renderErasedPage({ shell, suppressed }));
});
