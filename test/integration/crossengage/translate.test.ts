/** The pure translation of CrossEngage bodies into native events (src/crossengage/translate.ts). */
import { describe, expect, it } from "vitest";
import type { ConsentState } from "../../../src/consent/types";
import {
	channelOfType,
	mappedTraitProblems,
	maySubscribe,
	parseOptOut,
	profileEvents,
	splitProfile,
	topicsByTrait,
} from "../../../src/crossengage/translate";
import { testTopic as topic } from "../../topics";

const stateWith = (topics: Record<string, "pending" | "subscribed" | "unsubscribed">): ConsentState => ({
	blocked: false,
	channels: {},
	topics: Object.fromEntries(
		Object.entries(topics).map(([key, status]) => [
			key,
			{ status, channel: "email", changedAt: "2026-01-01T00:00:00.000Z" },
		]),
	),
});

describe("channel.type and optOut", () => {
	it("reads CrossEngage's channel types in any case, and nothing else", () => {
		expect(["MAIL", "mail", " Sms ", "WhatsApp", "push"].map(channelOfType)).toEqual([
			"email",
			"email",
			"sms",
			"whatsapp",
			"push",
		]);
		for (const other of ["EMAIL", "", "WEB", "MAIL_"]) expect(channelOfType(other)).toBeNull();
	});

	it("reads optOut as a boolean or its text in any case", () => {
		expect([true, false, "true", "FALSE", " True "].map(parseOptOut)).toEqual([true, false, true, false, true]);
		for (const other of ["yes", "1", 1, 0, null, undefined, "", {}]) expect(parseOptOut(other)).toBeNull();
	});
});

describe("traits and topics", () => {
	const kids = topic("newsletter-kids", {
		doubleOptIn: true,
		businessUnit: "de",
		providerRefs: { crossengage: "newsletterKids" },
	});
	const pets = topic("newsletter-pets", { providerRefs: { crossengage: "newsletterPets" } });
	const other = topic("newsletter-at", { businessUnit: "at", providerRefs: { crossengage: "newsletterKids" } });
	const plain = topic("plain", { providerRefs: { sendgrid: "42" } });
	const byTrait = topicsByTrait([kids, pets, other, plain], "de");

	it("splits a body into traits and optOut, and maps trait keys to the topics of the business unit", () => {
		expect(
			splitProfile({ id: "u1", email: "", businessUnit: "de", phone: null, optOut: "true", a: 1, b: null }),
		).toEqual({
			traits: { a: 1, b: null },
			optOut: "true",
		});
		expect([...byTrait]).toEqual([
			["newsletterKids", [kids]],
			["newsletterPets", [pets]],
		]);
	});

	it("finds mapped traits whose value is no status; unmapped traits and nulls are free", () => {
		const problems = mappedTraitProblems(
			{ newsletterKids: "maybe", newsletterPets: null, firstName: "maybe", other: 3 },
			byTrait,
		);
		expect(problems).toEqual([{ key: "newsletterKids", message: expect.stringContaining('"newsletter-kids"') }]);
		expect(problems[0]?.message).toContain('got "maybe"');
		expect(mappedTraitProblems({ newsletterKids: "Confirmed", newsletterPets: " unsubscribed " }, byTrait)).toEqual([]);
		expect(mappedTraitProblems({ newsletterPets: { status: "pending" } }, byTrait)).toHaveLength(1);
	});

	it("asks for a link origin only when a trait may subscribe", () => {
		expect(maySubscribe({ newsletterKids: "pending" }, byTrait)).toBe(true);
		expect(maySubscribe({ newsletterPets: "subscribed" }, byTrait)).toBe(true);
		expect(maySubscribe({ newsletterKids: "unsubscribed", firstName: "pending" }, byTrait)).toBe(false);
	});

	it("gives the events that reach each status from the current one, then the system opt-out", () => {
		const events = (traits: Record<string, unknown>, state = stateWith({}), optOut?: boolean) =>
			profileEvents(traits, byTrait, state, optOut).map((e) => [e.event, e.topic ?? null]);
		expect(events({ newsletterKids: "pending", newsletterPets: "pending" })).toEqual([
			["Subscribe", "newsletter-kids"],
			["Subscribe", "newsletter-pets"],
		]);
		// Subscribed: double opt-in without status → Subscribe + Confirm; pending → Confirm; subscribed → nothing.
		expect(events({ newsletterKids: "subscribed", newsletterPets: "confirmed" })).toEqual([
			["Subscribe", "newsletter-kids"],
			["Confirm Subscription", "newsletter-kids"],
			["Subscribe", "newsletter-pets"],
		]);
		expect(events({ newsletterKids: "subscribed" }, stateWith({ "newsletter-kids": "pending" }))).toEqual([
			["Confirm Subscription", "newsletter-kids"],
		]);
		expect(events({ newsletterKids: "subscribed" }, stateWith({ "newsletter-kids": "subscribed" }))).toEqual([]);
		expect(events({ newsletterKids: "subscribed" }, stateWith({ "newsletter-kids": "unsubscribed" }))).toEqual([
			["Subscribe", "newsletter-kids"],
			["Confirm Subscription", "newsletter-kids"],
		]);
		expect(events({ newsletterKids: "UNSUBSCRIBED", newsletterPets: null, firstName: "pending" })).toEqual([
			["Unsubscribe", "newsletter-kids"],
		]);
		expect(events({ newsletterKids: "pending" }, stateWith({}), true)).toEqual([
			["Subscribe", "newsletter-kids"],
			["Opt Out", null],
		]);
		const [optIn] = profileEvents({}, byTrait, stateWith({}), false);
		expect(optIn).toEqual({ event: "Opt In", channel: null, properties: { trait: "optOut", value: false } });
	});
});
