import { describe, expect, it } from "vitest";
import {
  CLERK_EMAIL_TEMPLATES,
  INVITATION_LIFETIME_SECONDS,
  misspelledClerkEvent,
  NOTICE_LIFETIME_SECONDS,
  sendLifetimeSeconds,
  templateLifetime,
} from "../../src/bridge/clerk-templates";
import { createTelemetry } from "../../src/bridge/telemetry";
import { TemplateStore } from "../../src/sandbox/clerk/templates";

const defaults = { codeLifetimeSeconds: 600, codeLifetimes: {} };

describe("Clerk template lifetimes", () => {
  it("knows every email template the Clerk stand-in's instance lists", () => {
    const listed = new TemplateStore(0).list("email").map((t) => t.slug);
    expect(listed.filter((slug) => !(slug in CLERK_EMAIL_TEMPLATES))).toEqual([]);
  });

  it("codes and links live codeLifetimeSeconds, invitations 30 days, notices a day", () => {
    const seconds = (slug: string) => templateLifetime({ slug }, { ...defaults, codeLifetimeSeconds: 900 });
    for (const slug of [
      "verification_code",
      "reset_password_code",
      "magic_link_sign_in",
      "magic_link_sign_up",
    ]) {
      expect(seconds(slug), slug).toEqual({ seconds: 900, known: true });
    }
    for (const slug of ["invitation", "organization_invitation", "waitlist_invitation"]) {
      expect(seconds(slug), slug).toEqual({ seconds: INVITATION_LIFETIME_SECONDS, known: true });
    }
    expect(INVITATION_LIFETIME_SECONDS).toBe(30 * 86_400);
    for (const slug of ["password_changed", "primary_email_address_changed", "passkey_added"]) {
      expect(seconds(slug), slug).toEqual({ seconds: NOTICE_LIFETIME_SECONDS, known: true });
    }
  });

  it("an unknown or missing slug gets codeLifetimeSeconds and is reported unknown", () => {
    expect(templateLifetime({ slug: "magic_link_sign_in_v2" }, defaults)).toEqual({
      seconds: 600,
      known: false,
    });
    expect(templateLifetime({}, defaults)).toEqual({ seconds: 600, known: false });
    // Names on Object.prototype are not templates.
    expect(templateLifetime({ slug: "constructor" }, defaults)).toEqual({ seconds: 600, known: false });
  });

  it("codeLifetimes replaces a template's lifetime, known or not; an email's own expiry caps it", () => {
    const settings = {
      codeLifetimeSeconds: 600,
      codeLifetimes: { invitation: 3_600, verification_code: 300, custom_notice: 7_200 },
    };
    expect(templateLifetime({ slug: "invitation" }, settings).seconds).toBe(3_600);
    expect(templateLifetime({ slug: "verification_code" }, settings).seconds).toBe(300);
    expect(templateLifetime({ slug: "custom_notice" }, settings)).toEqual({ seconds: 7_200, known: false });
    expect(templateLifetime({ slug: "invitation", validForSeconds: 86_400 }, defaults).seconds).toBe(86_400);
    expect(templateLifetime({ slug: "invitation", validForSeconds: 86_400 }, settings).seconds).toBe(3_600);
  });

  it("the worker logs an unknown slug once per email, with the lifetime it used and no address", () => {
    const lines: Array<Record<string, unknown>> = [];
    const telemetry = createTelemetry({
      env: {},
      emitMetrics: false,
      write: (l) => lines.push(JSON.parse(l)),
    });
    const deps = { settings: defaults, telemetry };
    expect(sendLifetimeSeconds({ slug: "verification_code" }, deps)).toBe(600);
    expect(lines).toEqual([]);
    expect(sendLifetimeSeconds({ slug: "shiny_new_template" }, deps)).toBe(600);
    expect(lines).toEqual([
      expect.objectContaining({
        level: "WARN",
        message: "unknown Clerk template: sent with the default code lifetime",
        slug: "shiny_new_template",
        lifetimeSeconds: 600,
      }),
    ]);
  });
});

describe("misspelled Clerk event names", () => {
  it("names email.created for emails.created and nothing for real names", () => {
    expect(misspelledClerkEvent("emails.created")).toBe(
      `"emails.created" is not a Clerk event: Clerk sends "email.created" (the plural is a typo in Clerk's email template guide)`,
    );
    expect(misspelledClerkEvent("email.created")).toBeUndefined();
    expect(misspelledClerkEvent("toString")).toBeUndefined();
  });
});
