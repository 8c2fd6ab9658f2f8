import type { Locale, MessageKey, Translate } from "./i18n";
import { Layout, renderPage } from "./layout";

export type ErrorMessageKey = Extract<MessageKey, `error.${string}`>;

/** A friendly page for a link that cannot be used: what happened, and that nothing was changed. */
export function renderErrorPage(locale: Locale, t: Translate, message: ErrorMessageKey): string {
	return renderPage(
		<Layout locale={locale} t={t} title={t("error.title")}>
			<h1>{t("error.title")}</h1>
			<div class="notice error" role="alert">
				<p>{t(message)}</p>
			</div>
		</Layout>,
	);
}
