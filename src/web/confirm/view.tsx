import { Layout, type PageShell, renderPage } from "../common/layout";

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
	shell: PageShell;
	token: string;
	state: "ready" | "already" | "nothing";
	topicNames: string[];
}): string {
	const { shell, token } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("confirm.title")}>
			{props.state === "ready" ? (
				<>
					<p>{t("confirm.text")}</p>
					<TopicList names={props.topicNames} />
					<form method="post" action={shell.link(`/c/${token}`)}>
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
	shell: PageShell;
	topicNames: string[];
	preferencesUrl: string | null;
}): string {
	const { shell } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("confirm.done.title")}>
			<div class="notice success" role="status">
				<p>{t("confirm.done.text")}</p>
				<TopicList names={props.topicNames} />
			</div>
			{props.preferencesUrl ? (
				<p>
					<a href={shell.link(props.preferencesUrl)}>{t("nav.preferences")}</a>
				</p>
			) : null}
		</Layout>,
	);
}
