import type { Child, FC } from "hono/jsx";
import type { Locale, Translate } from "./i18n";

/**
 * The frame of every public page: no script (the CSP, default-src 'none', allows none), one
 * stylesheet, readable on a phone, a main landmark for screen readers.
 */
export const Layout: FC<{ locale: Locale; t: Translate; title: string; children?: Child; script?: string }> = ({
	locale,
	t,
	title,
	children,
	script,
}) => (
	<html lang={locale}>
		<head>
			<meta charset="utf-8" />
			<meta name="viewport" content="width=device-width, initial-scale=1" />
			<meta name="robots" content="noindex, nofollow" />
			<meta name="referrer" content="no-referrer" />
			<title>{title}</title>
			<link rel="stylesheet" href="/assets/app.css" />
			{/* No favicon: an empty data: icon keeps browsers from asking for /favicon.ico (a 404). */}
			<link rel="icon" href="data:," />
			{script ? <script src={script} defer /> : null}
		</head>
		<body>
			<main class="page">
				{children}
				<p class="muted small">{t("page.footer")}</p>
			</main>
		</body>
	</html>
);

/** Renders a page as a full HTML document. */
export function renderPage(page: ReturnType<FC>): string {
	return `<!doctype html>${page?.toString() ?? ""}`;
}
