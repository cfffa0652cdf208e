import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRunnerUrl, RunnerUrlError } from "../src/index.ts";

describe("parseRunnerUrl", () => {
  const ghes = { enterpriseHosts: ["ghes.example.com", "git.corp:8443"] };
  const accepted = [
    [
      "https://github.com/octorun/test-repo",
      {},
      { kind: "repository", owner: "octorun", repository: "test-repo", apiBaseUrl: "https://api.github.com" },
    ],
    ["https://github.com/octorun", {}, { kind: "organization", organization: "octorun" }],
    [
      "https://github.com/octorun/",
      {},
      { kind: "organization", organization: "octorun", url: "https://github.com/octorun" },
    ],
    ["https://github.com/enterprises/acme", {}, { kind: "enterprise", enterprise: "acme" }],
    ["https://github.com/o/.github", {}, { kind: "repository", repository: ".github" }],
    [
      "https://GHES.example.com/team/app",
      ghes,
      {
        kind: "repository",
        host: "ghes.example.com",
        githubDotCom: false,
        apiBaseUrl: "https://ghes.example.com/api/v3",
      },
    ],
    ["http://git.corp:8443/team", ghes, { kind: "organization", apiBaseUrl: "http://git.corp:8443/api/v3" }],
  ] as const;
  for (const [url, options, expected] of accepted) {
    test(`accepts ${url}`, () => {
      const parsed = parseRunnerUrl(url, options) as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(expected)) assert.equal(parsed[key], value, key);
    });
  }

  const refused = [
    ["not a url", {}, /is not a URL/],
    ["https://gitlab.com/octorun", {}, /neither github.com nor a configured GitHub Enterprise Server host/],
    ["https://ghes.example.com/team", {}, /neither github.com/],
    ["http://github.com/octorun", {}, /scheme must be https/],
    ["ftp://ghes.example.com/team", ghes, /scheme must be https/],
    ["https://user:pw@github.com/octorun", {}, /credentials/],
    ["https://github.com/octorun?x=1", {}, /query or a fragment/],
    ["https://github.com/", {}, /must be a repository .*, organization .* or enterprise/],
    ["https://github.com/a/b/c", {}, /must be a repository/],
    ["https://github.com/-octorun", {}, /owner "-octorun" is not a valid GitHub account name/],
    ["https://github.com/octo_run", {}, /not a valid GitHub account name/],
    ["https://github.com/octorun/re po", {}, /repository "re%20po" is not a valid/],
    ["https://github.com/octorun/..", {}, /must be a repository/],
    ["https://github.com/enterprises", {}, /enterprise slug "" is not valid/],
  ] as const;
  for (const [url, options, message] of refused) {
    test(`refuses ${url}`, () => {
      assert.throws(
        () => parseRunnerUrl(url, options),
        (error: unknown) => error instanceof RunnerUrlError && message.test(error.message),
      );
    });
  }
});
