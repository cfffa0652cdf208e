import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GitHubUrlError, parseGitHubUrl, scopeKey } from "../src/index.ts";

describe("parseGitHubUrl", () => {
  const valid: [string, { url: string; apiBaseUrl: string; host: string; scope: object }][] = [
    [
      "https://github.com/acme",
      {
        url: "https://github.com/acme",
        apiBaseUrl: "https://api.github.com",
        host: "github.com",
        scope: { kind: "organization", org: "acme" },
      },
    ],
    [
      "https://github.com/acme/widgets/",
      {
        url: "https://github.com/acme/widgets",
        apiBaseUrl: "https://api.github.com",
        host: "github.com",
        scope: { kind: "repository", owner: "acme", repo: "widgets" },
      },
    ],
    [
      "https://www.github.com/acme/widgets.git",
      {
        url: "https://github.com/acme/widgets",
        apiBaseUrl: "https://api.github.com",
        host: "github.com",
        scope: { kind: "repository", owner: "acme", repo: "widgets" },
      },
    ],
    [
      "https://github.com/enterprises/mega-corp",
      {
        url: "https://github.com/enterprises/mega-corp",
        apiBaseUrl: "https://api.github.com",
        host: "github.com",
        scope: { kind: "enterprise", enterprise: "mega-corp" },
      },
    ],
    [
      "https://GHE.example.com/acme/my.repo",
      {
        url: "https://ghe.example.com/acme/my.repo",
        apiBaseUrl: "https://ghe.example.com/api/v3",
        host: "ghe.example.com",
        scope: { kind: "repository", owner: "acme", repo: "my.repo" },
      },
    ],
    [
      "https://ghe.example.com:8443/enterprises/corp",
      {
        url: "https://ghe.example.com:8443/enterprises/corp",
        apiBaseUrl: "https://ghe.example.com:8443/api/v3",
        host: "ghe.example.com:8443",
        scope: { kind: "enterprise", enterprise: "corp" },
      },
    ],
    [
      "http://127.0.0.1:8080/acme",
      {
        url: "http://127.0.0.1:8080/acme",
        apiBaseUrl: "http://127.0.0.1:8080/api/v3",
        host: "127.0.0.1:8080",
        scope: { kind: "organization", org: "acme" },
      },
    ],
  ];
  for (const [input, expected] of valid) {
    test(`parses ${input}`, () => {
      const parsed = parseGitHubUrl(input);
      assert.deepEqual(
        { url: parsed.url, apiBaseUrl: parsed.apiBaseUrl, host: parsed.host, scope: parsed.scope },
        expected,
      );
    });
  }

  const invalid: [string, RegExp][] = [
    ["", /not an absolute URL/],
    ["github.com/acme", /not an absolute URL/],
    ["ftp://github.com/acme", /scheme must be https/],
    ["https://github.com", /names no organization/],
    ["https://github.com/", /names no organization/],
    ["https://github.com/acme/widgets/tree/main", /longer path/],
    ["https://github.com/enterprises", /needs an enterprise slug/],
    ["https://github.com/enterprises/a/b", /longer path/],
    ["https://github.com/-acme", /not a valid organization/],
    ["https://github.com/acme/.git", /not a valid repository/],
    ["https://github.com/acme?tab=repositories", /query or fragment/],
    ["https://user:pass@github.com/acme", /credentials/],
    ["https://github.com/acme/wid gets", /not a valid repository/],
  ];
  for (const [input, message] of invalid) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseGitHubUrl(input),
        (error: unknown) => error instanceof GitHubUrlError && message.test(error.message) && error.url === input,
      );
    });
  }

  test("scope keys are stable and case-insensitive", () => {
    assert.equal(
      scopeKey(parseGitHubUrl("https://github.com/Acme")),
      scopeKey(parseGitHubUrl("https://github.com/acme/")),
    );
    assert.notEqual(
      scopeKey(parseGitHubUrl("https://github.com/acme")),
      scopeKey(parseGitHubUrl("https://ghe.example.com/acme")),
    );
  });
});
