import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

// `pulumi preview --policy-pack ./policy`; the rules and their reasons live in policies.ts.
new PolicyPack("auth-email-pipeline-policies", { policies });
