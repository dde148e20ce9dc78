import { prefixedId } from "../core/ids";
import type { Metadata } from "./metadata";

/** The templates `POST /v1/invitations` may send (`template_slug`, BAPI spec). */
export const INVITATION_TEMPLATES = ["invitation", "waitlist_invitation"] as const;
export type InvitationTemplate = (typeof INVITATION_TEMPLATES)[number];

/** BAPI: "By default, the invitation expires after 30 days"; `expires_in_days` takes 1 to 365. */
export const INVITATION_DAYS = { min: 1, max: 365, default: 30 } as const;

export interface InvitationRecord {
  id: string;
  emailAddress: string;
  publicMetadata: Metadata;
  status: "pending" | "accepted" | "revoked" | "expired";
  /** The link the invitation email carries (`action_url`). */
  url: string;
  expiresInDays: number;
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
}

export interface NewInvitation {
  emailAddress: string;
  publicMetadata?: Metadata;
  redirectUrl?: string;
  expiresInDays?: number;
  templateSlug?: InvitationTemplate;
  /** Whether Clerk emails the invitation; BAPI's `notify`, default true. */
  notify?: boolean;
  /** Invite even an address a user already has; BAPI's `ignore_existing`, default false. */
  ignoreExisting?: boolean;
}

/** Application invitations, as `POST /v1/invitations` creates them. */
export class InvitationStore {
  private readonly invitations: InvitationRecord[] = [];

  create(input: NewInvitation, accountsUrl: string, now: number): InvitationRecord {
    const id = prefixedId("inv");
    const ticket = prefixedId("tkt");
    const url = input.redirectUrl
      ? `${input.redirectUrl}${input.redirectUrl.includes("?") ? "&" : "?"}__clerk_ticket=${ticket}`
      : `${accountsUrl}/sign-up?__clerk_ticket=${ticket}`;
    const expiresInDays = input.expiresInDays ?? INVITATION_DAYS.default;
    const invitation: InvitationRecord = {
      id,
      emailAddress: input.emailAddress,
      publicMetadata: input.publicMetadata ?? {},
      status: "pending",
      url,
      expiresInDays,
      expiresAt: now + expiresInDays * 86_400_000,
      createdAt: now,
      updatedAt: now,
    };
    this.invitations.push(invitation);
    return invitation;
  }

  all(): InvitationRecord[] {
    return [...this.invitations];
  }
}

/** The spec's `Invitation` object. */
export function invitationJson(invitation: InvitationRecord) {
  return {
    object: "invitation",
    id: invitation.id,
    email_address: invitation.emailAddress,
    public_metadata: invitation.publicMetadata,
    revoked: invitation.status === "revoked",
    status: invitation.status,
    url: invitation.url,
    expires_at: invitation.expiresAt,
    created_at: invitation.createdAt,
    updated_at: invitation.updatedAt,
  };
}
