// Validation rules beyond the CRD schema. Pure: the request in, field errors out.

import {
  githubLabelProblems,
  isEmptySelector,
  type LabelSelector,
  parseRunnerUrl,
  RUNNER_SET_LABEL,
  RUNNER_SYSTEM_FIELDS,
  RunnerUrlError,
  selectorMatches,
  selectorProblems,
} from "@octorun/api";
import type { AdmissionRequest, UserInfo } from "./admission-review.ts";
import { type FieldError, forbidden, invalid, required } from "./field-errors.ts";
import { deepEqual } from "./json-patch.ts";

export interface ValidationPolicy {
  /** GitHub Enterprise Server hosts allowed in `url` besides github.com. */
  enterpriseHosts: readonly string[];
  /** Users (e.g. the controller's ServiceAccount) who may set the system-filled `spec.id` and `spec.os`. */
  controllerUsernames: readonly string[];
  /** Groups whose members may too. */
  controllerGroups: readonly string[];
}

type JsonObject = Record<string, unknown>;

export function validateRunner(request: AdmissionRequest, policy: ValidationPolicy): FieldError[] {
  const runner = (request.object ?? {}) as JsonObject;
  const old = request.operation === "UPDATE" ? ((request.oldObject ?? {}) as JsonObject) : undefined;
  const spec = objectAt(runner, "spec");
  const oldSpec = old ? objectAt(old, "spec") : undefined;
  const errors: FieldError[] = [];

  // Unchanged values are not judged again on update (ratcheting), so that an object created
  // before a rule existed can still be updated, e.g. to remove its finalizer.
  if (!oldSpec || !deepEqual(spec["url"], oldSpec["url"])) errors.push(...urlErrors(spec["url"], "spec.url", policy));
  const labels = labelsOf(runner);
  if (!old || !deepEqual(labels, labelsOf(old))) errors.push(...labelErrors({ labels, spec }, ""));

  const isController = isControllerIdentity(request.userInfo, policy);
  for (const field of RUNNER_SYSTEM_FIELDS) {
    const changed = oldSpec ? !deepEqual(spec[field], oldSpec[field]) : spec[field] !== undefined;
    if (changed && !isController) {
      errors.push(
        forbidden(
          `spec.${field}`,
          `is set by the octorun controller only (request by ${JSON.stringify(request.userInfo.username ?? "")})`,
        ),
      );
    }
  }
  if (oldSpec) {
    const keys = new Set([...Object.keys(spec), ...Object.keys(oldSpec)]);
    for (const key of [...keys].sort()) {
      if ((RUNNER_SYSTEM_FIELDS as readonly string[]).includes(key)) continue;
      if (!deepEqual(spec[key], oldSpec[key])) {
        errors.push(
          forbidden(
            `spec.${key}`,
            "a Runner's spec is immutable after creation (only spec.id and spec.os, set by the controller, change)",
          ),
        );
      }
    }
  }
  return errors;
}

export function validateRunnerSet(request: AdmissionRequest, policy: ValidationPolicy): FieldError[] {
  const runnerSet = (request.object ?? {}) as JsonObject;
  const old = request.operation === "UPDATE" ? ((request.oldObject ?? {}) as JsonObject) : undefined;
  const spec = objectAt(runnerSet, "spec");
  const oldSpec = old ? objectAt(old, "spec") : undefined;
  const template = objectAt(spec, "template");
  const templateSpec = objectAt(template, "spec");
  const templateLabels = (objectAt(objectAt(template, "metadata"), "labels") ?? {}) as Record<string, string>;
  const errors: FieldError[] = [];

  const selector = spec["selector"] as LabelSelector | undefined;
  if (selector === undefined || selector === null) {
    errors.push(required("spec.selector", "a RunnerSet needs a selector that matches its template's labels"));
  } else if (oldSpec && !deepEqual(selector, oldSpec["selector"])) {
    errors.push(invalid("spec.selector", selector, "field is immutable"));
  } else {
    const problems = selectorProblems(selector, "spec.selector");
    for (const problem of problems) errors.push(asFieldError(problem.field, problem.message));
    if (problems.length === 0) {
      if (isEmptySelector(selector))
        errors.push(
          invalid(
            "spec.selector",
            selector,
            "empty selector is invalid for a RunnerSet (it would select every Runner)",
          ),
        );
      else if (!selectorMatches(selector, templateLabels)) {
        errors.push(
          invalid("spec.template.metadata.labels", templateLabels, "`selector` does not match template `labels`"),
        );
      }
    }
  }

  const oldTemplateSpec = oldSpec ? objectAt(objectAt(oldSpec, "template"), "spec") : undefined;
  if (!oldTemplateSpec || !deepEqual(templateSpec["url"], oldTemplateSpec["url"])) {
    errors.push(...urlErrors(templateSpec["url"], "spec.template.spec.url", policy));
  }
  errors.push(...labelErrors({ labels: templateLabels, spec: templateSpec }, "spec.template."));
  for (const field of RUNNER_SYSTEM_FIELDS) {
    if (templateSpec[field] !== undefined) {
      errors.push(
        forbidden(
          `spec.template.spec.${field}`,
          "is set by the octorun controller on each Runner, never in a template",
        ),
      );
    }
  }
  if (templateLabels[RUNNER_SET_LABEL] === "") {
    errors.push(
      invalid(
        `spec.template.metadata.labels[${RUNNER_SET_LABEL}]`,
        "",
        "must name the RunnerSet's runners (it becomes the GitHub label runnerset=<value>)",
      ),
    );
  }
  return errors;
}

function urlErrors(url: unknown, field: string, policy: ValidationPolicy): FieldError[] {
  if (url === undefined || url === null || url === "")
    return [required(field, "the GitHub repository, organization or enterprise URL")];
  if (typeof url !== "string") return [invalid(field, url, "must be a string")];
  try {
    parseRunnerUrl(url, { enterpriseHosts: policy.enterpriseHosts });
    return [];
  } catch (error) {
    if (error instanceof RunnerUrlError) return [invalid(field, url, error.message)];
    throw error;
  }
}

/** The GitHub labels of a Runner (prefix "") or a RunnerSet's template (prefix "spec.template."). */
function labelErrors(
  { labels, spec }: { labels: Record<string, string>; spec: JsonObject },
  prefix: string,
): FieldError[] {
  const plain = Array.isArray(spec["labels"]) ? (spec["labels"] as string[]) : [];
  return githubLabelProblems({ metadata: { labels }, spec: { labels: plain } }).map((problem) => {
    if (problem.key !== undefined)
      return invalid(`${prefix}metadata.labels[${problem.key}]`, labels[problem.key], problem.message);
    if (problem.index !== undefined)
      return invalid(`${prefix}spec.labels[${problem.index}]`, plain[problem.index], problem.message);
    return invalid(`${prefix}spec.labels`, plain.length, problem.message);
  });
}

function asFieldError(field: string, message: string): FieldError {
  const type = message.startsWith("Required")
    ? "FieldValueRequired"
    : message.startsWith("Forbidden")
      ? "FieldValueForbidden"
      : message.startsWith("Unsupported")
        ? "FieldValueNotSupported"
        : "FieldValueInvalid";
  return { type, field, message };
}

function isControllerIdentity(user: UserInfo, policy: ValidationPolicy): boolean {
  if (user.username !== undefined && policy.controllerUsernames.includes(user.username)) return true;
  return (user.groups ?? []).some((group) => policy.controllerGroups.includes(group));
}

function labelsOf(object: JsonObject): Record<string, string> {
  return (objectAt(objectAt(object, "metadata"), "labels") ?? {}) as Record<string, string>;
}

function objectAt(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  return value && typeof value === "object" && !Array.isArray(value) ? (value as JsonObject) : {};
}
