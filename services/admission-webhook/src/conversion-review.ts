// ConversionReview apiextensions.k8s.io/v1: converts each object with the pure API conversion.

import { ConversionError, convertObject } from "@octorun/api";
import { BadRequestError } from "./errors.ts";

export const CONVERSION_API_VERSION = "apiextensions.k8s.io/v1";

export interface ConversionResult {
  review: Record<string, unknown>;
  objects: number;
  failed: boolean;
}

export function convertReview(body: unknown): ConversionResult {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new BadRequestError(400, "the body is not a JSON object");
  const review = body as Record<string, unknown>;
  if (review["kind"] !== "ConversionReview" || review["apiVersion"] !== CONVERSION_API_VERSION) {
    throw new BadRequestError(
      400,
      `expected a ConversionReview ${CONVERSION_API_VERSION}, got kind ${JSON.stringify(review["kind"])} apiVersion ${JSON.stringify(review["apiVersion"])}`,
    );
  }
  const request = review["request"] as Record<string, unknown> | undefined;
  if (!request || typeof request !== "object") throw new BadRequestError(400, "the ConversionReview has no request");
  const uid = request["uid"];
  const desired = request["desiredAPIVersion"];
  const objects = request["objects"];
  if (typeof uid !== "string" || uid === "") throw new BadRequestError(400, "request.uid is missing");
  if (typeof desired !== "string") throw new BadRequestError(400, "request.desiredAPIVersion is missing");
  if (!Array.isArray(objects)) throw new BadRequestError(400, "request.objects is not a list");
  try {
    const convertedObjects = objects.map((object) => convertObject(object as object, desired));
    return {
      review: {
        apiVersion: CONVERSION_API_VERSION,
        kind: "ConversionReview",
        response: { uid, result: { status: "Success" }, convertedObjects },
      },
      objects: objects.length,
      failed: false,
    };
  } catch (error) {
    if (!(error instanceof ConversionError)) throw error;
    return {
      review: {
        apiVersion: CONVERSION_API_VERSION,
        kind: "ConversionReview",
        response: { uid, result: { status: "Failure", message: error.message }, convertedObjects: [] },
      },
      objects: objects.length,
      failed: true,
    };
  }
}
