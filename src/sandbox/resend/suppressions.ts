import { uuid } from "../core/ids";

export const SUPPRESSION_ORIGINS = ["bounce", "complaint", "manual"] as const;
export type SuppressionOrigin = (typeof SUPPRESSION_ORIGINS)[number];

export interface SuppressionEntry {
  id: string;
  email: string;
  origin: SuppressionOrigin;
  /** The email whose bounce or complaint caused it; null for manual entries. */
  source_id: string | null;
  created_at: string;
}

/** The team-wide suppression list: addresses Resend will not send to again (they get `email.suppressed`). */
export class SuppressionList {
  private readonly entries = new Map<string, SuppressionEntry>();

  /** Adds `email`; undefined when it was already suppressed (no second `suppression.added`). */
  add(email: string, origin: SuppressionOrigin, sourceId: string | null): SuppressionEntry | undefined {
    const key = email.toLowerCase();
    if (this.entries.has(key)) return undefined;
    const entry: SuppressionEntry = {
      id: uuid(),
      email: key,
      origin,
      source_id: sourceId,
      created_at: new Date().toISOString(),
    };
    this.entries.set(key, entry);
    return entry;
  }

  find(emailOrId: string): SuppressionEntry | undefined {
    return (
      this.entries.get(emailOrId.toLowerCase()) ?? [...this.entries.values()].find((e) => e.id === emailOrId)
    );
  }

  remove(emailOrId: string): SuppressionEntry | undefined {
    const entry = this.find(emailOrId);
    if (entry) this.entries.delete(entry.email);
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }

  list(): SuppressionEntry[] {
    return [...this.entries.values()];
  }
}
