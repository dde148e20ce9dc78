import { prefixedId } from "../core/ids";
import type { Metadata } from "./metadata";

/** How long an email code stays valid (Clerk: 10 minutes). */
export const CODE_TTL_MS = 10 * 60_000;

export interface EmailAddressRecord {
  id: string;
  emailAddress: string;
  /** `admin` when created through BAPI, `email_code` when proved with a code. */
  strategy: "admin" | "email_code";
  status: "unverified" | "verified";
  attempts: number | null;
  expireAt: number | null;
  /** The code an end user must enter to verify this address, while unverified. */
  pendingCode?: string;
  createdAt: number;
  updatedAt: number;
}

export interface UserRecord {
  id: string;
  externalId: string | null;
  firstName: string | null;
  lastName: string | null;
  username: string | null;
  primaryEmailAddressId: string | null;
  emailAddresses: EmailAddressRecord[];
  publicMetadata: Metadata;
  privateMetadata: Metadata;
  unsafeMetadata: Metadata;
  passwordEnabled: boolean;
  createdAt: number;
  updatedAt: number;
  lastSignInAt: number | null;
  lastActiveAt: number | null;
}

export interface UserListFilter {
  emailAddresses?: string[];
  userIds?: string[];
  query?: string;
  /** `+field` or `-field`; default `-created_at`, as Clerk's. */
  orderBy?: string;
}

export const ORDER_FIELDS = [
  "created_at",
  "updated_at",
  "email_address",
  "first_name",
  "last_name",
  "username",
  "last_active_at",
  "last_sign_in_at",
] as const;

/** Strictly increasing epoch-ms clock, so `created_at` ordering is deterministic within a test. */
export class MonotonicClock {
  private last = 0;
  now(): number {
    this.last = Math.max(Date.now(), this.last + 1);
    return this.last;
  }
}

export interface NewUser {
  emailAddress?: string;
  /** Keeps the identification id a sign-up already announced in its `email.created`. */
  emailAddressId?: string;
  strategy?: EmailAddressRecord["strategy"];
  firstName?: string | null;
  lastName?: string | null;
  externalId?: string | null;
  publicMetadata?: Metadata;
  privateMetadata?: Metadata;
}

export class UserStore {
  private readonly users = new Map<string, UserRecord>();

  constructor(readonly clock: MonotonicClock) {}

  all(): UserRecord[] {
    return [...this.users.values()];
  }

  get(id: string): UserRecord | undefined {
    return this.users.get(id);
  }

  /** The user owning `address` (any of their addresses, case-insensitive). */
  findByEmail(address: string): { user: UserRecord; email: EmailAddressRecord } | undefined {
    const wanted = address.trim().toLowerCase();
    for (const user of this.users.values()) {
      const email = user.emailAddresses.find((e) => e.emailAddress.toLowerCase() === wanted);
      if (email) return { user, email };
    }
    return undefined;
  }

  findEmail(emailAddressId: string): { user: UserRecord; email: EmailAddressRecord } | undefined {
    for (const user of this.users.values()) {
      const email = user.emailAddresses.find((e) => e.id === emailAddressId);
      if (email) return { user, email };
    }
    return undefined;
  }

  create(input: NewUser): UserRecord {
    const now = this.clock.now();
    const user: UserRecord = {
      id: prefixedId("user"),
      externalId: input.externalId ?? null,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      username: null,
      primaryEmailAddressId: null,
      emailAddresses: [],
      publicMetadata: input.publicMetadata ?? {},
      privateMetadata: input.privateMetadata ?? {},
      unsafeMetadata: {},
      passwordEnabled: false,
      createdAt: now,
      updatedAt: now,
      lastSignInAt: null,
      lastActiveAt: null,
    };
    if (input.emailAddress) {
      const email = this.newEmail(input.emailAddress, input.strategy ?? "admin", input.emailAddressId);
      email.status = "verified";
      email.attempts = email.strategy === "admin" ? null : 1;
      user.emailAddresses.push(email);
      user.primaryEmailAddressId = email.id;
    }
    this.users.set(user.id, user);
    return user;
  }

  delete(id: string): UserRecord | undefined {
    const user = this.users.get(id);
    if (user) this.users.delete(id);
    return user;
  }

  /** Adds an unverified address that waits for `code`. */
  addEmail(user: UserRecord, address: string, code: string): EmailAddressRecord {
    const email = this.newEmail(address, "email_code");
    email.pendingCode = code;
    email.expireAt = email.createdAt + CODE_TTL_MS;
    user.emailAddresses.push(email);
    this.touch(user);
    return email;
  }

  markVerified(user: UserRecord, email: EmailAddressRecord): void {
    email.status = "verified";
    email.attempts = (email.attempts ?? 0) + 1;
    email.pendingCode = undefined;
    email.updatedAt = this.clock.now();
    this.touch(user);
  }

  touch(user: UserRecord): void {
    user.updatedAt = this.clock.now();
  }

  list(filter: UserListFilter): UserRecord[] {
    const emails = filter.emailAddresses?.map((e) => e.trim().toLowerCase());
    const query = filter.query?.trim().toLowerCase();
    const matches = this.all().filter((user) => {
      if (filter.userIds?.length && !filter.userIds.includes(user.id)) return false;
      if (emails?.length && !user.emailAddresses.some((e) => emails.includes(e.emailAddress.toLowerCase()))) {
        return false;
      }
      if (query) {
        const haystack = [user.id, user.firstName, user.lastName, user.username, user.externalId]
          .concat(user.emailAddresses.map((e) => e.emailAddress))
          .filter((v): v is string => typeof v === "string")
          .map((v) => v.toLowerCase());
        if (!haystack.some((v) => v.includes(query))) return false;
      }
      return true;
    });
    const orderBy = filter.orderBy ?? "-created_at";
    const descending = orderBy.startsWith("-");
    const field = orderBy.replace(/^[+-]/, "");
    return matches.sort((a, b) => {
      const diff = compare(sortKey(a, field), sortKey(b, field));
      return descending ? -diff : diff;
    });
  }

  private newEmail(
    address: string,
    strategy: EmailAddressRecord["strategy"],
    id?: string,
  ): EmailAddressRecord {
    const now = this.clock.now();
    return {
      id: id ?? prefixedId("idn"),
      emailAddress: address.trim(),
      strategy,
      status: "unverified",
      attempts: strategy === "admin" ? null : 0,
      expireAt: null,
      createdAt: now,
      updatedAt: now,
    };
  }
}

function sortKey(user: UserRecord, field: string): string | number | null {
  switch (field) {
    case "created_at":
      return user.createdAt;
    case "updated_at":
      return user.updatedAt;
    case "email_address":
      return user.emailAddresses.find((e) => e.id === user.primaryEmailAddressId)?.emailAddress ?? null;
    case "first_name":
      return user.firstName;
    case "last_name":
      return user.lastName;
    case "username":
      return user.username;
    case "last_active_at":
      return user.lastActiveAt;
    case "last_sign_in_at":
      return user.lastSignInAt;
    default:
      return null;
  }
}

/** Nulls sort last in ascending order, like SQL's default in Clerk's Postgres. */
function compare(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** The spec's `User` object, every required field present. */
export function userJson(user: UserRecord) {
  const image = "https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCJ9";
  return {
    id: user.id,
    object: "user",
    external_id: user.externalId,
    primary_email_address_id: user.primaryEmailAddressId,
    primary_phone_number_id: null,
    primary_web3_wallet_id: null,
    username: user.username,
    first_name: user.firstName,
    last_name: user.lastName,
    locale: null,
    profile_image_url: image,
    image_url: image,
    has_image: false,
    public_metadata: user.publicMetadata,
    private_metadata: user.privateMetadata,
    unsafe_metadata: user.unsafeMetadata,
    email_addresses: user.emailAddresses.map(emailAddressJson),
    phone_numbers: [],
    web3_wallets: [],
    passkeys: [],
    password_enabled: user.passwordEnabled,
    two_factor_enabled: false,
    totp_enabled: false,
    backup_code_enabled: false,
    mfa_enabled_at: null,
    mfa_disabled_at: null,
    password_last_updated_at: null,
    external_accounts: [],
    saml_accounts: [],
    enterprise_accounts: [],
    organization_memberships: [],
    last_sign_in_at: user.lastSignInAt,
    banned: false,
    locked: false,
    deprovisioned: false,
    lockout_expires_in_seconds: null,
    verification_attempts_remaining: 100,
    updated_at: user.updatedAt,
    created_at: user.createdAt,
    delete_self_enabled: true,
    create_organization_enabled: true,
    create_organizations_limit: null,
    last_active_at: user.lastActiveAt,
    legal_accepted_at: null,
    bypass_client_trust: false,
  };
}

function emailAddressJson(email: EmailAddressRecord) {
  const admin = email.strategy === "admin";
  return {
    id: email.id,
    object: "email_address",
    email_address: email.emailAddress,
    reserved: false,
    verification: {
      object: admin ? "verification_admin" : "verification_otp",
      status: email.status,
      strategy: email.strategy,
      attempts: email.attempts,
      expire_at: email.expireAt,
    },
    linked_to: [],
    matches_sso_connection: false,
    created_at: email.createdAt,
    updated_at: email.updatedAt,
  };
}
