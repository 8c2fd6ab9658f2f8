import type { MessageKey } from "./i18n";
import { Layout, type PageShell, renderPage } from "./layout";

export type ErrorMessageKey = Extract<MessageKey, `error.${string}`>;

/** A friendly page for a link that cannot be used: what happened, and that nothing was changed. */
export function renderErrorPage(shell: PageShell, message: ErrorMessageKey): string {
	return renderPage(
		<Layout shell={shell} title={shell.t("error.title")}>
			<div class="notice error" role="alert">
				<p>{shell.t(message)}</p>
			</div>
		</Layout>,
	);
}
