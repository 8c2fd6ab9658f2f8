import type { Child, FC } from "hono/jsx";
import type { Brand } from "./branding";
import { LOCALE_NAMES, LOCALES, type Locale, type Translate } from "./i18n";

/** What every public page shows around its content: language, sender, the address, the language switch. */
export interface PageShell {
	locale: Locale;
	t: Translate;
	brand: Brand;
	/** The address the link is for, masked (mask.ts); null where there is none to show. */
	address: string | null;
	/** The path the language switch links to (the page itself, token included); null: no switch. */
	switchPath: string | null;
	/** A path of ours with the language the person chose (`?lang=`), so that it stays chosen. */
	link: (path: string) => string;
	/**
	 * `same-origin` for a page whose form must prove it is ours (src/web/common/same-origin.ts):
	 * under `no-referrer` browsers post it with `Origin: null`. Absent: no referrer at all.
	 */
	referrerPolicy?: "same-origin";
}

/** `?lang=xx` on a path, for a language the person chose; the path as it is otherwise. */
export function withLanguage(path: string, chosen: Locale | null): string {
	if (!chosen) return path;
	return `${path}${path.includes("?") ? "&" : "?"}lang=${chosen}`;
}

/**
 * Links to the page in every language: plain links (no script, no form), each named in its own
 * language with `lang` and `hreflang`, the current one marked with aria-current.
 */
const LanguageSwitch: FC<{ shell: PageShell; path: string }> = ({ shell, path }) => (
	<nav class="languages" aria-label={shell.t("lang.label")}>
		<ul>
			{LOCALES.map((locale) => (
				<li>
					<a
						href={withLanguage(path, locale)}
						lang={locale}
						hreflang={locale}
						aria-current={locale === shell.locale ? "true" : undefined}
					>
						{LOCALE_NAMES[locale]}
					</a>
				</li>
			))}
		</ul>
	</nav>
);

/**
 * The frame of every public page: no script (the CSP, default-src 'none', allows none), our
 * stylesheet (and the business unit's colours), the sender's name and logo, the page's one h1,
 * the address the link is for, a main landmark for screen readers.
 */
export const Layout: FC<{ shell: PageShell; title: string; children?: Child }> = ({ shell, title, children }) => {
	const { locale, t, brand } = shell;
	return (
		<html lang={locale}>
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<meta name="robots" content="noindex, nofollow" />
				{/* The token is in the URL: no Referer for the logo's host or any link (same-origin: only to us). */}
				<meta name="referrer" content={shell.referrerPolicy ?? "no-referrer"} />
				<title>{title}</title>
				<link rel="stylesheet" href="/assets/app.css" />
				{brand.themeHref ? <link rel="stylesheet" href={brand.themeHref} /> : null}
				{/* No favicon: an empty data: icon keeps browsers from asking for /favicon.ico (a 404). */}
				<link rel="icon" href="data:," />
			</head>
			<body>
				<header class="brand-bar">
					<div class="brand-inner">
						<p class="brand">
							{/* The name is next to it: the logo adds nothing a screen reader should read twice. */}
							{brand.logoUrl ? (
								<img class="brand-logo" src={brand.logoUrl} alt="" height="40" referrerpolicy="no-referrer" />
							) : null}
							<span class="brand-name">{brand.name}</span>
						</p>
						{shell.switchPath ? <LanguageSwitch shell={shell} path={shell.switchPath} /> : null}
					</div>
				</header>
				<main class="page">
					<h1>{title}</h1>
					{shell.address ? <p class="muted small">{t("page.for", { address: shell.address })}</p> : null}
					{children}
					<p class="muted small">{t("page.footer")}</p>
				</main>
			</body>
		</html>
	);
};

/** Renders a page as a full HTML document. */
export function renderPage(page: ReturnType<FC>): string {
	return `<!doctype html>${page?.toString() ?? ""}`;
}

const NOTICE = {
	success: { class: "notice success", role: "status" },
	info: { class: "notice", role: "status" },
	error: { class: "notice error", role: "alert" },
} as const;

/** A page that only tells something: its title, one notice of a few paragraphs, and what follows. */
export function renderNoticePage(
	shell: PageShell,
	title: string,
	tone: keyof typeof NOTICE,
	lines: string[],
	after: Child = null,
): string {
	return renderPage(
		<Layout shell={shell} title={title}>
			<div class={NOTICE[tone].class} role={NOTICE[tone].role}>
				{lines.map((line) => (
					<p>{line}</p>
				))}
			</div>
			{after}
		</Layout>,
	);
}
