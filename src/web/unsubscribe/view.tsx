import { type Channel, UNSUBSCRIBE_REASONS } from "../../consent/types";
import type { Translate } from "../common/i18n";
import { Layout, type PageShell, renderPage } from "../common/layout";

/** The feedback choices of the unsubscribe page; they feed the stats "by reason". */
export const MAX_COMMENT_LENGTH = 1000;

/** What a link unsubscribes from: a topic, a channel, or everything. */
export type UnsubscribeScope = { topic: string } | { channel: Channel } | { everything: true };

export function scopeSentence(t: Translate, scope: UnsubscribeScope): string {
	if ("topic" in scope) return t("unsub.scope.topic", { topic: scope.topic });
	if ("channel" in scope) return t("unsub.scope.channel", { messages: t(`channelMessages.${scope.channel}`) });
	return t("unsub.scope.all");
}

interface Common {
	shell: PageShell;
	token: string;
}

const PreferencesLink = ({ shell, token }: Common) => (
	<p>
		<a href={shell.link(`/p/${token}`)}>{shell.t("nav.preferences")}</a>
	</p>
);

/** GET /u/{token}: says what will be unsubscribed; only the button (a POST) changes anything. */
export function renderUnsubscribePage(props: Common & { scope: UnsubscribeScope; already: boolean }): string {
	const { shell, token } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("unsub.title")}>
			<p>{scopeSentence(t, props.scope)}</p>
			{props.already ? (
				<p class="notice" role="status">
					{t("unsub.already")}
				</p>
			) : null}
			<form method="post" action={shell.link(`/u/${token}`)} class="card">
				<fieldset>
					<legend>{t("unsub.reason.legend")}</legend>
					{UNSUBSCRIBE_REASONS.map((reason) => (
						<div class="choice">
							<input type="radio" name="reason" value={reason} id={`reason-${reason}`} />
							<label for={`reason-${reason}`}>{t(`unsub.reason.${reason}`)}</label>
						</div>
					))}
				</fieldset>
				<label for="comment">{t("unsub.comment")}</label>
				<textarea id="comment" name="comment" maxlength={MAX_COMMENT_LENGTH} rows={4} />
				<div class="actions">
					<button type="submit" name="action" value="unsubscribe">
						{t("unsub.submit")}
					</button>
				</div>
			</form>
			<PreferencesLink shell={shell} token={token} />
		</Layout>,
	);
}

/**
 * After the page's form post: what happened, an undo button (when something changed) and the way
 * to the preference center. `undoChannels` are the channels this unsubscribe opted out, sent back
 * with the undo so that only they are opted in again.
 */
export function renderUnsubscribedPage(
	props: Common & { scope: UnsubscribeScope; changed: boolean; undoChannels: Channel[] },
): string {
	const { shell, token } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("unsub.done.title")}>
			<p class="notice success" role="status">
				{scopeSentence(t, props.scope)}
				{props.changed ? "" : ` ${t("unsub.done.unchanged")}`}
			</p>
			{props.changed ? (
				<form method="post" action={shell.link(`/u/${token}`)} class="card">
					<p>{t("unsub.undo.text")}</p>
					{props.undoChannels.map((channel) => (
						<input type="hidden" name="channel" value={channel} />
					))}
					<button type="submit" name="action" value="undo" class="secondary">
						{t("unsub.undo.submit")}
					</button>
				</form>
			) : null}
			<PreferencesLink shell={shell} token={token} />
		</Layout>,
	);
}

/** After undo. */
export function renderResubscribedPage(props: Common): string {
	const { shell, token } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("unsub.undone.title")}>
			<p class="notice success" role="status">
				{t("unsub.undone.text")}
			</p>
			<PreferencesLink shell={shell} token={token} />
		</Layout>,
	);
}

/**
 * The answer to an RFC 8058 one-click POST. Mailbox providers only need the 200; a small page
 * (not bare text) so that a person who ever sees it gets a titled page in their language.
 */
export function renderOneClickPage(props: { shell: PageShell; scope: UnsubscribeScope }): string {
	const { shell } = props;
	const { t } = shell;
	return renderPage(
		<Layout shell={shell} title={t("unsub.done.title")}>
			<p class="notice success" role="status">
				{scopeSentence(t, props.scope)}
			</p>
		</Layout>,
	);
}
