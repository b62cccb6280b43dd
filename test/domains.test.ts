import { strict as assert } from "node:assert";
import { deriveDomains, relativeTo, type DomainOptions } from "../config/domains";

const none = { ecommerce: false, discovery: false };

function fqdns(options: DomainOptions = {}, enabled = none, subDomain = "courses", baseDomain = "example.org"): Record<string, string> {
  return Object.fromEntries(deriveDomains({ subDomain, baseDomain, options, enabled }).map((d) => [d.role, d.fqdn]));
}

describe("deriveDomains", () => {
  it("puts studio, preview and apps one label before the LMS domain by default", () => {
    assert.deepEqual(fqdns(), {
      lms: "courses.example.org",
      studio: "studio.courses.example.org",
      preview: "preview.courses.example.org",
      mfe: "apps.courses.example.org",
    });
  });

  it("adds ecommerce and discovery only when the services are enabled", () => {
    assert.deepEqual(Object.keys(fqdns({}, { ecommerce: true, discovery: false })), ["lms", "studio", "preview", "mfe", "ecommerce"]);
    const all = fqdns({}, { ecommerce: true, discovery: true });
    assert.equal(all.ecommerce, "ecommerce.courses.example.org");
    assert.equal(all.discovery, "discovery.courses.example.org");
  });

  it("uses the studio- style when style is dash", () => {
    assert.deepEqual(fqdns({ style: "dash" }, { ecommerce: true, discovery: false }), {
      lms: "courses.example.org",
      studio: "studio-courses.example.org",
      preview: "preview-courses.example.org",
      mfe: "apps-courses.example.org",
      ecommerce: "ecommerce-courses.example.org",
    });
  });

  it("takes configured prefixes", () => {
    const domains = fqdns({ studioPrefix: "cms", previewPrefix: "draft", mfePrefix: "mfe" });
    assert.equal(domains.studio, "cms.courses.example.org");
    assert.equal(domains.preview, "draft.courses.example.org");
    assert.equal(domains.mfe, "mfe.courses.example.org");
  });

  it("gives record names relative to the base domain for the names it manages", () => {
    const records = deriveDomains({ subDomain: "courses", baseDomain: "example.org", enabled: none }).map((d) => d.recordName);
    assert.deepEqual(records, ["courses", "studio.courses", "preview.courses", "apps.courses"]);
  });

  it("replaces a derived name with an external one and leaves names outside the zone unmanaged", () => {
    const domains = deriveDomains({
      subDomain: "courses",
      baseDomain: "example.org",
      options: { external: { lms: "learn.customer.example", studio: "cms.example.org" } },
      enabled: none,
    });
    const lms = domains.find((d) => d.role === "lms");
    const studio = domains.find((d) => d.role === "studio");
    assert.deepEqual(lms, { role: "lms", fqdn: "learn.customer.example" });
    assert.deepEqual(studio, { role: "studio", fqdn: "cms.example.org", recordName: "cms" });
  });

  it("manages an external name at the zone apex as @", () => {
    const domains = deriveDomains({ subDomain: "courses", baseDomain: "example.org", options: { external: { lms: "example.org" } }, enabled: none });
    assert.equal(domains.find((d) => d.role === "lms")?.recordName, "@");
  });

  it("refuses two roles on one name, which the appserver could not tell apart", () => {
    assert.throws(
      () => deriveDomains({ subDomain: "courses", baseDomain: "example.org", options: { external: { studio: "courses.example.org" } }, enabled: none }),
      /studio and lms would both be courses\.example\.org/,
    );
  });

  it("refuses a derived label longer than 63 characters, naming the setting to change", () => {
    const subDomain = "a".repeat(60);
    assert.doesNotThrow(() => deriveDomains({ subDomain, baseDomain: "example.org", enabled: none }));
    assert.throws(
      () => deriveDomains({ subDomain, baseDomain: "example.org", options: { style: "dash" }, enabled: none }),
      /studio.*63 characters.*(subDomain|prefix)/,
    );
  });

  it("refuses a derived name longer than 253 characters", () => {
    const baseDomain = Array.from({ length: 4 }, () => "b".repeat(60)).join(".");
    assert.throws(() => deriveDomains({ subDomain: "courses", baseDomain, enabled: none }), /253/);
  });
});

describe("relativeTo", () => {
  it("returns the name inside the zone, @ for the apex, undefined outside", () => {
    assert.equal(relativeTo("studio.courses.example.org", "example.org"), "studio.courses");
    assert.equal(relativeTo("example.org", "example.org"), "@");
    assert.equal(relativeTo("notexample.org", "example.org"), undefined);
    assert.equal(relativeTo("example.org.evil.net", "example.org"), undefined);
  });
});
