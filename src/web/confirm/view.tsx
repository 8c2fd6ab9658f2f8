import type { Locale, Translate } from "../common/i18n";
import { Layout, renderPage } from "../common/layout";

/** The names of the topics a confirmation covers, as a list. */
const TopicList = ({ names }: { names: string[] }) => (
	<ul>
		{names.map((name) => (
			<li>{name}</li>
		))}
	</ul>
);

/**
 * GET /c/{token}: the double-opt-in page. Loading it confirms nothing (mail scanners open every
 * link, some run scripts): only the button, a POST, does. `state` "ready" shows the button.
 */
export function renderConfirmPage(props: {
	locale: Locale;
	t: Translate;
	token: string;
	state: "ready" | "already" | "nothing";
	topicNames: string[];
}): string {
	const { locale, t, token } = props;
	return renderPage(
		<Layout locale={locale} t={t} title={t("confirm.title")}>
			<h1>{t("confirm.title")}</h1>
			{props.state === "ready" ? (
				<>
					<p>{t("confirm.text")}</p>
					<TopicList names={props.topicNames} />
					<form method="post" action={`/c/${token}`}>
						<div class="actions">
							<button type="submit">{t("confirm.submit")}</button>
						</div>
					</form>
					<p class="muted small">{t("confirm.ignore")}</p>
				</>
			) : (
				<p class="notice" role="status">
					{t(props.state === "already" ? "confirm.already" : "confirm.nothing")}
				</p>
			)}
		</Layout>,
	);
}

/** After the POST: what is now subscribed, and the way to the preference center. */
export function renderConfirmedPage(props: {
	locale: Locale;
	t: Translate;
	topicNames: string[];
	preferencesUrl: string | null;
}): string {
	const { locale, t } = props;
	return renderPage(
		<Layout locale={locale} t={t} title={t("confirm.done.title")}>
			<h1>{t("confirm.done.title")}</h1>
			<div class="notice success" role="status">
				<p>{t("confirm.done.text")}</p>
				<TopicList names={props.topicNames} />
			</div>
			{props.preferencesUrl ? (
				<p>
					<a href={props.preferencesUrl}>{t("nav.preferences")}</a>
				</p>
			) : null}
		</Layout>,
	);
}
