import type { MessageKey } from "./i18n";
import { type PageShell, renderNoticePage } from "./layout";

export type ErrorMessageKey = Extract<MessageKey, `error.${string}`>;

/** A friendly page for a link that cannot be used: what happened, and that nothing was changed. */
export function renderErrorPage(shell: PageShell, message: ErrorMessageKey): string {
	return renderNoticePage(shell, shell.t("error.title"), "error", [shell.t(message)]);
}
