import type { ChannelChoices, PreferenceConflict } from "../../consent/preferences";
import type { Channel } from "../../consent/types";
import { formatList, type MessageKey } from "../common/i18n";
import { Layout, type PageShell, renderPage } from "../common/layout";
import { SelfServiceSection } from "./self-service-view";

/**
 * GET/POST /p/{token}: per channel a fieldset with its topics (ticked = the person gets it, the
 * effective status) and a "stop all" box for the channel opt-out; "save" first so Enter saves.
 * Hidden `shown_*` fields name what the form showed, so a POST only touches those. Below the
 * form, "Your data": download and erasure (self-service.ts).
 */
export function renderPreferencesPage(props: {
	shell: PageShell;
	token: string;
	choices: ChannelChoices[];
	/** The link's channel: "unsubscribe from everything" then means everything of that channel. */
	scope: Channel | null;
	notice: string | null;
	/** Topics ticked while their channel stayed stopped: shown ticked, with what to change. */
	conflicts: PreferenceConflict[];
}): string {
	const { shell, token, choices, scope, conflicts } = props;
	const { t } = shell;
	const messages = (channel: Channel) => t(`channelMessages.${channel}` as MessageKey);
	const conflicting = new Set(conflicts.map((conflict) => conflict.topic));
	const nameOf = (key: string) =>
		choices.flatMap((group) => group.topics).find((topic) => topic.key === key)?.name ?? key;
	return renderPage(
		<Layout shell={shell} title={t("prefs.title")}>
			{conflicts.length > 0 ? (
				<div class="notice warning" role="alert">
					{[...new Set(conflicts.map((conflict) => conflict.channel))].map((channel) => (
						<p>
							{t("prefs.conflict", {
								topics: formatList(
									shell.locale,
									conflicts
										.filter((conflict) => conflict.channel === channel)
										.map((conflict) => t("quote", { text: nameOf(conflict.topic) })),
								),
								messages: messages(channel),
							})}
						</p>
					))}
				</div>
			) : null}
			{props.notice ? (
				<p class="notice success" role="status">
					{props.notice}
				</p>
			) : conflicts.length === 0 ? (
				<p>{t("prefs.intro")}</p>
			) : null}
			<form method="post" action={shell.link(`/p/${token}`)}>
				{choices.map((group) => (
					<fieldset class="group">
						<legend>{t(`channel.${group.channel}`)}</legend>
						<input type="hidden" name="shown_channel" value={group.channel} />
						{group.optedOut ? (
							<p class="muted small">{t("prefs.channelPaused", { messages: messages(group.channel) })}</p>
						) : null}
						{group.topics.map((topic) => {
							const id = `topic-${group.channel}-${topic.key}`;
							const notes = [
								topic.description ? `${id}-description` : null,
								topic.status === "pending" ? `${id}-pending` : null,
								conflicting.has(topic.key) ? `${id}-conflict` : null,
							].filter((note): note is string => note !== null);
							return (
								<div class="choice">
									<input type="hidden" name="shown_topic" value={topic.key} />
									<input
										type="checkbox"
										name="topic"
										value={topic.key}
										id={id}
										checked={topic.receiving || conflicting.has(topic.key)}
										aria-describedby={notes.length > 0 ? notes.join(" ") : undefined}
									/>
									<div>
										<label for={id}>{topic.name}</label>
										{topic.description ? (
											<span class="desc" id={`${id}-description`}>
												{topic.description}
											</span>
										) : null}
										{topic.status === "pending" ? (
											<span class="desc" id={`${id}-pending`}>
												{t("prefs.pending")}
											</span>
										) : null}
										{conflicting.has(topic.key) ? (
											<span class="desc warning" id={`${id}-conflict`}>
												{t("prefs.conflictNote", { messages: messages(group.channel) })}
											</span>
										) : null}
									</div>
								</div>
							);
						})}
						<div class="choice stop">
							<input
								type="checkbox"
								name="stop"
								value={group.channel}
								id={`stop-${group.channel}`}
								checked={group.optedOut}
							/>
							<label for={`stop-${group.channel}`}>
								{t("prefs.stopChannel", { messages: messages(group.channel) })}
							</label>
						</div>
					</fieldset>
				))}
				<div class="actions">
					<button type="submit" name="action" value="save">
						{t("prefs.save")}
					</button>
					<button type="submit" name="action" value="unsubscribe_all" class="secondary">
						{scope ? t("prefs.unsubscribeAllChannel", { messages: messages(scope) }) : t("prefs.unsubscribeAll")}
					</button>
				</div>
			</form>
			<SelfServiceSection shell={shell} token={token} />
		</Layout>,
	);
}
