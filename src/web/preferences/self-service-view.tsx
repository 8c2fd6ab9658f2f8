import { Layout, type PageShell, renderPage } from "../common/layout";

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
export function renderErasedPage(props: { shell: PageShell; suppressed: boolean }): string {
	const { shell } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("selfService.erased.title")}>
			<div class="notice success" role="status">
				<p>{t("selfService.erased.text")}</p>
				{props.suppressed ? <p>{t("selfService.erased.suppressed")}</p> : null}
			</div>
		</Layout>,
	);
}

/**
 * No contact behind the link: never had one, or erased already (a second click, the link used
 * again). The two read the same, so the page tells nothing about which.
 */
export function renderNothingToErasePage(props: { shell: PageShell }): string {
	const { shell } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("selfService.nothing.title")}>
			<div class="notice" role="status">
				<p>{t("selfService.none")}</p>
				<p>{t("selfService.nothing.text")}</p>
			</div>
		</Layout>,
	);
}

/** A POST that did not come from our own confirmation page: refused, nothing erased. */
export function renderRefusedPage(props: { shell: PageShell }): string {
	const { shell } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("selfService.refused.title")}>
			<div class="notice error" role="alert">
				<p>{t("selfService.refused.text")}</p>
			</div>
		</Layout>,
	);
}
