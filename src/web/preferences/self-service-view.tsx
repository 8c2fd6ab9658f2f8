import { Layout, type PageShell, renderNoticePage, renderPage } from "../common/layout";

/**
 * The preference center's "Your data" section: plain links (GET), outside its form. The download
 * is a file (the `download` attribute, and `Content-Disposition: attachment`); "erase" only shows
 * what erasure means, with the button that asks for it.
 */
export const SelfServiceSection = ({ shell, token }: { shell: PageShell; token: string }) => {
	const { t } = shell;
	return (
		<section class="card" aria-labelledby="your-data">
			<h2 id="your-data">{t("selfService.title")}</h2>
			<p>{t("selfService.intro")}</p>
			<div class="actions">
				<a class="button secondary" href={shell.link(`/p/${token}/download`)} download>
					{t("selfService.download")}
				</a>
				<a class="button secondary" href={shell.link(`/p/${token}/erase`)}>
					{t("selfService.erase")}
				</a>
			</div>
		</section>
	);
};

/**
 * GET /p/{token}/erase (and a POST without the confirmation): what erasure removes and keeps, a
 * last chance to download, and the one button whose POST (`confirm=erase`) erases. Loading the
 * page erases nothing; it sends `Referrer-Policy: same-origin` so that its own POST carries our
 * origin (src/web/common/same-origin.ts).
 */
export function renderEraseConfirmPage(props: { shell: PageShell; token: string }): string {
	const { shell, token } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("selfService.confirm.title")}>
			<p>{t("selfService.confirm.what")}</p>
			<p>{t("selfService.confirm.record")}</p>
			<p>{t("selfService.confirm.suppression")}</p>
			<p class="notice warning">{t("selfService.confirm.final")}</p>
			<p>
				<a href={shell.link(`/p/${token}/download`)} download>
					{t("selfService.download")}
				</a>
			</p>
			<form method="post" action={shell.link(`/p/${token}/erase`)}>
				<div class="actions">
					<button type="submit" name="confirm" value="erase">
						{t("selfService.confirm.submit")}
					</button>
					<a class="button secondary" href={shell.link(`/p/${token}`)}>
						{t("selfService.confirm.cancel")}
					</a>
				</div>
			</form>
		</Layout>,
	);
}

/** After the confirmed POST: erased, and whether the address stays suppressed. */
export function renderErasedPage({ shell, suppressed }: { shell: PageShell; suppressed: boolean }): string {
	const { t } = shell;
	const lines = [t("selfService.erased.text"), ...(suppressed ? [t("selfService.erased.suppressed")] : [])];
	return renderNoticePage(shell, t("selfService.erased.title"), "success", lines);
}

/**
 * No contact behind the link: never had one, or erased already (a second click, the link used
 * again). The two read the same, so the page tells nothing about which.
 */
export function renderNothingToErasePage({ shell }: { shell: PageShell }): string {
	const { t } = shell;
	return renderNoticePage(shell, t("selfService.nothing.title"), "info", [
		t("selfService.none"),
		t("selfService.nothing.text"),
	]);
}

/** A POST that did not come from our own confirmation page: refused, nothing erased. */
export function renderRefusedPage({ shell }: { shell: PageShell }): string {
	const { t } = shell;
	return renderNoticePage(shell, t("selfService.refused.title"), "error", [t("selfService.refused.text")]);
}
