import { pgTimestamp } from "./clock";
import { apiRoute, type ResendContext } from "./context";
import { mailbox } from "./email-request";
import { invalidField, notFound } from "./errors";
import { objectBody, requiredString } from "./fields";
import { paginate } from "./pagination";
import {
  SUPPRESSION_ORIGINS,
  type SuppressionEntry,
  type SuppressionList,
  type SuppressionOrigin,
} from "./suppressions";

const MAX_BATCH = 100;

/**
 * The `/suppressions` API (OAS `Suppressions`; SDK `resend.suppressions`): list, add (manual), get and
 * remove by id or email, and the batch variants. Adding and removing announce `suppression.added` /
 * `suppression.removed`.
 */
export function registerSuppressionRoutes(ctx: ResendContext, list: SuppressionList): void {
  const find = (idOrEmail: string | undefined): SuppressionEntry => {
    const entry = idOrEmail ? list.find(idOrEmail) : undefined;
    if (!entry) throw notFound("Suppression");
    return entry;
  };
  const add = (email: string): SuppressionEntry => {
    const address = mailbox(email);
    if (!address || address !== email.trim()) {
      throw invalidField("Invalid `email` field. Use a bare address such as `someone@example.org`.");
    }
    const added = list.add(address, "manual", null);
    if (added) ctx.emit("suppression.added", { ...added });
    return added ?? list.find(address)!;
  };
  const remove = (entry: SuppressionEntry) => {
    list.remove(entry.id);
    ctx.emit("suppression.removed", { ...entry });
    return { object: "suppression", id: entry.id, deleted: true };
  };

  apiRoute(ctx, "GET", "/suppressions", (req) => {
    const origin = req.query.get("origin");
    if (origin !== null && !SUPPRESSION_ORIGINS.includes(origin as SuppressionOrigin)) {
      throw invalidField(
        `Invalid \`origin\` parameter. It must be one of: ${SUPPRESSION_ORIGINS.join(", ")}.`,
      );
    }
    const items = list
      .list()
      .filter((e) => origin === null || e.origin === origin)
      .reverse()
      .map((entry) => {
        const { object: _object, ...item } = suppressionBody(entry);
        return item;
      });
    return { status: 200, body: paginate(items, req.query) };
  });

  apiRoute(ctx, "POST", "/suppressions", (req) => {
    const entry = add(requiredString(objectBody(req.json()), "email"));
    return { status: 201, body: { object: "suppression", id: entry.id } };
  });

  apiRoute(ctx, "GET", "/suppressions/:key", (req) => ({
    status: 200,
    body: suppressionBody(find(req.params.key)),
  }));
  apiRoute(ctx, "DELETE", "/suppressions/:key", (req) => ({
    status: 200,
    body: remove(find(req.params.key)),
  }));

  apiRoute(ctx, "POST", "/suppressions/batch/add", (req) => {
    const emails = stringArray(objectBody(req.json()).emails, "emails");
    const data = emails.map((email) => ({ object: "suppression", id: add(email).id }));
    return { status: 201, body: { data } };
  });

  apiRoute(ctx, "POST", "/suppressions/batch/remove", (req) => {
    const body = objectBody(req.json());
    if ((body.emails === undefined) === (body.ids === undefined)) {
      throw invalidField("Provide either `emails` or `ids`, not both.");
    }
    const keys =
      body.emails !== undefined ? stringArray(body.emails, "emails") : stringArray(body.ids, "ids");
    // A suppression named twice (or by both its email and its id) is removed, and announced, once.
    const entries = new Set(
      keys.map((key) => list.find(key)).filter((e): e is SuppressionEntry => e !== undefined),
    );
    return { status: 200, body: { data: [...entries].map(remove) } };
  });
}

/** How a suppression reads on the API: Postgres-style `created_at`, as the rest of Resend's API. */
function suppressionBody(entry: SuppressionEntry) {
  return { object: "suppression", ...entry, created_at: pgTimestamp(new Date(entry.created_at)) };
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BATCH) {
    throw invalidField(`The \`${field}\` field must be an array of 1 to ${MAX_BATCH} strings.`);
  }
  if (!value.every((v) => typeof v === "string"))
    throw invalidField(`The \`${field}\` field must hold strings.`);
  return value as string[];
}
