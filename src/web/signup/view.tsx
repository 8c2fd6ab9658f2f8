import { CONFIRM_LINK_LIFETIME_SECONDS } from "../../links/token";
import { formatNumber, type MessageKey } from "../common/i18n";
import { Layout, type PageShell, renderNoticePage, renderPage } from "../common/layout";

/** What the sign-up endpoint tells a person who posted a plain HTML form. */
export type SignupPageOutcome =
	| { kind: "accepted" }
	| { kind: "invalid"; problems: Array<"email" | "topicsMissing" | "form"> }
	| { kind: "rateLimited" }
	| { kind: "forbidden" }
	| { kind: "challengeFailed" }
	| { kind: "challengeUnavailable" }
	| { kind: "error" };

const PROBLEM_KEYS: Record<"email" | "topicsMissing" | "form", MessageKey> = {
	email: "signup.invalid.email",
	topicsMissing: "signup.invalid.topicsMissing",
	form: "signup.invalid.form",
};

/** The title and text of each refusal but "invalid" (which lists its problems). */
const REFUSALS: Record<Exclude<SignupPageOutcome["kind"], "accepted" | "invalid">, [MessageKey, MessageKey]> = {
	rateLimited: ["signup.rateLimited.title", "error.rateLimited"],
	forbidden: ["signup.forbidden.title", "signup.forbidden.body"],
	challengeFailed: ["signup.turnstile.title", "signup.turnstile.body"],
	challengeUnavailable: ["signup.invalid.title", "signup.turnstile.unavailable"],
	error: ["signup.invalid.title", "error.generic"],
};

/**
 * The answer page of POST /subscribe for form callers. The accepted page is the same for every
 * address (known, unknown, already subscribed, blocked): it never says whether a mail was sent,
 * and shows no address. `backUrl` is the page the form was on, only when it belongs to an allowed
 * origin.
 */
export function renderSignupPage(options: { shell: PageShell; outcome: SignupPageOutcome; backUrl?: string | null }) {
	const { shell, outcome, backUrl } = options;
	const { t } = shell;
	const back = backUrl ? (
		<p class="actions">
			<a class="button secondary" href={backUrl}>
				{t("signup.back")}
			</a>
		</p>
	) : null;

	if (outcome.kind === "accepted") {
		const days = formatNumber(shell.locale, Math.round(CONFIRM_LINK_LIFETIME_SECONDS / 86_400));
		return renderPage(
			<Layout shell={shell} title={t("signup.accepted.title")}>
				<div class="notice" role="status">
					<p>{t("signup.accepted.body")}</p>
				</div>
				<p class="muted">{t("signup.accepted.hint", { days })}</p>
				{back}
			</Layout>,
		);
	}

	const [title, lines]: [string, string[]] =
		outcome.kind === "invalid"
			? [t("signup.invalid.title"), [...new Set(outcome.problems)].map((problem) => t(PROBLEM_KEYS[problem]))]
			: [t(REFUSALS[outcome.kind][0]), [t(REFUSALS[outcome.kind][1])]];
	return renderNoticePage(shell, title, "error", lines, back);
}
