import { describe, expect, it } from "vitest";
import { contract, SPECS } from "../support/openapi";

describe("OpenApiContract", () => {
  it("accepts the Resend spec's own create-domain shape and rejects a wrong type", () => {
    const resend = contract(SPECS.resend);
    const schema = resend.responseSchema("POST", "/domains", 201);
    expect(schema).toBeTruthy();
    expect(() => resend.assertComponent("Tag", { name: "a", value: "b" })).not.toThrow();
    expect(() => resend.assertComponent("Tag", { name: 1 })).toThrow(/does not match the vendor spec/);
  });

  it("understands OpenAPI 3.0 nullable in the Clerk spec", () => {
    const clerk = contract(SPECS.clerkBapi);
    expect(() => clerk.assertComponent("ClerkErrors", { errors: [], meta: {} })).not.toThrow();
    expect(() => clerk.assertComponent("ClerkErrors", { errors: "nope" })).toThrow();
  });

  it("finds Clerk webhook examples", () => {
    const hooks = contract(SPECS.clerkWebhooks);
    const example = hooks.webhookExample("email.created") as { type: string; data: { slug: string } };
    expect(example.type).toBe("email.created");
    expect(() => hooks.assertSchema(hooks.webhookSchema("email.created"), example, "example")).not.toThrow();
  });
});
