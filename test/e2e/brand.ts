/**
 * The one branded business unit of the browser tests (BRANDING in global-setup.ts): a logo on
 * another https origin, which the tests answer themselves (nothing leaves the machine), and a
 * light accent colour whose text colours the service must compute. Its pages speak Polish.
 */
export const E2E_BRAND = {
	businessUnit: "e2e-brand",
	name: "Sklep Przykładowy",
	logoUrl: "https://logo.e2e.example/brand/logo.svg",
	logoOrigin: "https://logo.e2e.example",
	accent: "#ffcc00",
} as const;
