/**
 * The little of the browser's DOM that the functions run inside the page use, typed by hand: the
 * project compiles against the Workers types, without the DOM library. A page function reaches the
 * browser's globals as `globalThis as unknown as DomWindow` (the cast is erased; page functions are
 * serialized, so they cannot use anything imported).
 */

export interface DomElement {
	id: string;
	tagName: string;
	textContent: string | null;
	getAttribute(name: string): string | null;
	removeAttribute(name: string): void;
	remove(): void;
	querySelector(selectors: string): DomElement | null;
	querySelectorAll(selectors: string): Iterable<DomElement>;
	append(...nodes: DomElement[]): void;
}

export interface DomWindow {
	document: {
		documentElement: DomElement & { lang: string; scrollWidth: number; clientWidth: number };
		head: DomElement;
		styleSheets: Iterable<{ href: string | null; cssRules: { length: number } }>;
		activeElement: DomElement | null;
		createElement(tagName: string): DomElement;
		addEventListener(
			type: "securitypolicyviolation",
			listener: (event: { violatedDirective: string; blockedURI: string }) => void,
		): void;
	};
	getComputedStyle(element: DomElement): { outlineStyle: string; outlineWidth: string };
	CSS: { escape(value: string): string };
}
