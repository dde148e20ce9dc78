// The Pulumi program: one stack declares the sending domain, its DNS records, both webhook endpoints,
// the bounce bridge and the Clerk delivery cutover.
export {};
