export { ClerkEmailDelivery, type ClerkEmailDeliveryArgs } from "./clerk-delivery";
export { ClerkWebhookEndpoint, type ClerkWebhookEndpointArgs } from "./clerk-webhook";
export { DomainVerification, type DomainVerificationArgs } from "./domain-verification";
export { type ResendDnsRecord, ResendDomain, type ResendDomainArgs } from "./resend-domain";
export { ResendWebhook, type ResendWebhookArgs } from "./resend-webhook";
