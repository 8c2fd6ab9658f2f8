import type { BrandSettings } from "../../env";
import { themeHref } from "./theme";

/** The sender as a page shows it. */
export interface Brand {
	name: string;
	logoUrl: string | null;
	/** The logo's origin: the one image source the page's CSP adds. */
	logoOrigin: string | null;
	/** The accent colour's stylesheet; null keeps the default colours. */
	themeHref: string | null;
}

/** The default accent of APP_CSS (styles.ts): no theme stylesheet for it. */
const DEFAULT_ACCENT = "0a58ca";

/**
 * The business unit's branding, field by field over the `*` entry; without either, the
 * `fallbackName` (the service's host), no logo and the default colours.
 */
export function brandFor(
	branding: Readonly<Record<string, BrandSettings>>,
	businessUnit: string | null,
	fallbackName: string,
): Brand {
	const settings: BrandSettings = { ...branding["*"], ...(businessUnit ? branding[businessUnit] : undefined) };
	const logoUrl = settings.logoUrl ?? null;
	return {
		name: settings.name ?? fallbackName,
		logoUrl,
		logoOrigin: logoUrl ? new URL(logoUrl).origin : null,
		themeHref: settings.accent && settings.accent !== DEFAULT_ACCENT ? themeHref(settings.accent) : null,
	};
}
