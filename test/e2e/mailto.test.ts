import { expect, it } from "vitest";
import { baseUrl, describeE2e, getUser, historyOf, linksFor, seedUser, tamper, unique } from "./support";

/*
 * Unsubscribe by mail under `wrangler dev` (started by global-setup.ts): wrangler serves the
 * worker's email() handler at POST /cdn-cgi/handler/email?from=…&to=… with the raw message as the
 * body, as Cloudflare Email Routing would deliver it. It answers 200 when the handler finished, and
 * 400 "Worker rejected email" when the handler called setReject: a mail must never get that. No
 * browser: plain fetch.
 */

const UNSUBSCRIBE_ADDRESS = "unsubscribe@consent.example.test";

function rawMail(from: string, subject: string, messageId = `<${crypto.randomUUID()}@mail.example.de>`): string {
	return [
		`From: ${from}`,
		`To: ${UNSUBSCRIBE_ADDRESS}`,
		"Date: Tue, 03 Nov 2026 09:12:45 +0100",
		`Message-ID: ${messageId}`,
		`Subject: ${subject}`,
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"Sent from my phone",
		"",
	].join("\r\n");
}

async function sendMail(from: string, raw: string) {
	const query = new URLSearchParams({ from, to: UNSUBSCRIBE_ADDRESS });
	const response = await fetch(`${baseUrl()}/cdn-cgi/handler/email?${query}`, { method: "POST", body: raw });
	return { status: response.status, text: await response.text() };
}

const tokenOf = (url: string) => url.slice(url.lastIndexOf("/") + 1);

describeE2e("a mail to the List-Unsubscribe mailto address (wrangler dev's local email handler)", () => {
	it("opts the contact out with a valid token, once for the same mail twice, and never rejects a bad one", async () => {
		const { externalId, email } = await seedUser("de", [{ event: "Opt In", channel: "email" }]);
		const campaign = unique("mail");
		const links = await linksFor(externalId, { channel: "email", campaign });

		// A tampered token: accepted for delivery (never bounced), nothing changes.
		const bad = await sendMail(email, rawMail(email, `unsubscribe ${tokenOf(tamper(links.unsubscribeUrl))}`));
		expect(bad, bad.text).toMatchObject({ status: 200 });
		expect((await getUser(externalId)).consent.channels.email?.optedOut ?? false).toBe(false);

		// The token as the mailto URI puts it in the subject; the same mail delivered twice.
		const raw = rawMail(email, `unsubscribe ${tokenOf(links.unsubscribeUrl)}`);
		for (let delivery = 0; delivery < 2; delivery++) {
			const sent = await sendMail(email, raw);
			expect(sent, sent.text).toMatchObject({ status: 200 });
		}
		expect((await getUser(externalId)).consent.channels.email?.optedOut).toBe(true);
		const rows = (await historyOf(externalId)).filter((row) => row.source === "mailto");
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ event: "Opt Out", channel: "email", changed: true, campaign, userAgent: null });
	});
});
