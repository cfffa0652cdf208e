import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRunnerUrl, RunnerUrlError } from "../src/index.ts";

// The one parser of runner URLs: the admission webhook and the controller's GitHub client both call it.
describe("parseRunnerUrl", () => {
  const ghes = { enterpriseHosts: ["ghes.example.com", "git.corp:8443"] };
  const accepted = [
    [
      "https://github.com/octorun/test-repo",
      {},
      {
        url: "https://github.com/octorun/test-repo",
        host: "github.com",
        githubDotCom: true,
        apiBaseUrl: "https://api.github.com",
        scope: { kind: "repository", owner: "octorun", repo: "test-repo" },
      },
    ],
    ["https://github.com/octorun", {}, { scope: { kind: "organization", org: "octorun" } }],
    ["https://github.com/octorun/", {}, { url: "https://github.com/octorun" }],
    ["https://github.com/a-b-c", {}, { scope: { kind: "organization", org: "a-b-c" } }],
    ["https://github.com/enterprises/mega-corp", {}, { scope: { kind: "enterprise", enterprise: "mega-corp" } }],
    ["https://github.com/o/.github", {}, { scope: { kind: "repository", owner: "o", repo: ".github" } }],
    // A clone URL names the repository without `.git`; www.github.com is github.com.
    [
      "https://www.github.com/acme/widgets.git",
      {},
      {
        url: "https://github.com/acme/widgets",
        host: "github.com",
        githubDotCom: true,
        scope: { kind: "repository", owner: "acme", repo: "widgets" },
      },
    ],
    [
      "https://GHES.example.com/team/app",
      ghes,
      {
        url: "https://ghes.example.com/team/app",
        host: "ghes.example.com",
        githubDotCom: false,
        apiBaseUrl: "https://ghes.example.com/api/v3",
      },
    ],
    ["http://git.corp:8443/team", ghes, { apiBaseUrl: "http://git.corp:8443/api/v3", host: "git.corp:8443" }],
  ] as const;
  for (const [url, options, expected] of accepted) {
    test(`accepts ${url}`, () => {
      const parsed = parseRunnerUrl(url, options) as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(parsed[key], value, key);
    });
  }

  const refused = [
    ["not a url", {}, /is not a URL/],
    ["https://gitlab.com/octorun", {}, /neither github.com nor a configured GitHub Enterprise Server host/],
    ["https://ghes.example.com/team", {}, /neither github.com/],
    ["http://127.0.0.1:8080/acme", {}, /neither github.com/],
    ["https://git.corp/team", ghes, /neither github.com/], // the port is part of the allowed host
    ["http://github.com/octorun", {}, /scheme must be https/],
    ["http://www.github.com/octorun", {}, /scheme must be https/],
    ["ftp://ghes.example.com/team", ghes, /scheme must be https/],
    ["https://user:pw@github.com/octorun", {}, /credentials/],
    ["https://github.com/octorun?x=1", {}, /query or a fragment/],
    ["https://github.com/", {}, /must be a repository .*, organization .* or enterprise/],
    ["https://github.com/a/b/c", {}, /must be a repository/],
    ["https://github.com/-octorun", {}, /owner "-octorun" is not a valid GitHub account name/],
    ["https://github.com/octorun-", {}, /not a valid GitHub account name/],
    ["https://github.com/octo--run", {}, /not a valid GitHub account name/],
    ["https://github.com/octo_run", {}, /not a valid GitHub account name/],
    ["https://github.com/octorun/re po", {}, /repository "re%20po" is not a valid/],
    ["https://github.com/acme/.git", {}, /repository ".git" is not a valid/],
    ["https://github.com/octorun/..", {}, /must be a repository/],
    ["https://github.com/enterprises", {}, /enterprise slug "" is not valid/],
    ["https://github.com/enterprises/mega_corp", {}, /enterprise slug "mega_corp" is not valid/],
  ] as const;
  for (const [url, options, message] of refused) {
    test(`refuses ${url}`, () => {
      assert.throws(
        () => parseRunnerUrl(url, options),
        (error: unknown) => error instanceof RunnerUrlError && message.test(error.message) && error.url === url,
      );
    });
  }

  test("says when only the host is the problem", () => {
    const hostOf = (url: string) => {
      try {
        parseRunnerUrl(url);
      } catch (error) {
        return (error as RunnerUrlError).hostNotAllowed;
      }
    };
    assert.equal(hostOf("https://github.example.net/acme"), true);
    assert.equal(hostOf("https://github.com/-acme"), false);
  });
});
