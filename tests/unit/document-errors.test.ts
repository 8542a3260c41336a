import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  childExitError,
  documentError,
  serializeError,
  timeBudgetError,
} from "../../src/processors/document/pdf-errors.ts";
import { firstReceiveFate } from "../helpers/fate.ts";

describe("documentError", () => {
  it("a password-protected PDF fails processing with its own code, not retried", () => {
    const error = documentError({ name: "PasswordException", message: "No password given" });
    assert.deepEqual(
      [error.category, error.code, error.retryable, firstReceiveFate(error)],
      ["processing", "document-password-protected", false, "failed → delete"],
    );
  });

  it("an invalid PDF and any other pdf.js failure fail processing", () => {
    assert.equal(
      documentError({ name: "InvalidPDFException", message: "Invalid PDF structure." }).code,
      "document-invalid",
    );
    const other = documentError({ name: "UnknownErrorException", message: "boom" });
    assert.deepEqual([other.category, other.code, other.retryable], ["processing", "document-unreadable", false]);
  });
});

describe("childExitError", () => {
  it("recognises V8's heap exhaustion as out of memory", () => {
    const error = childExitError({
      code: null,
      signal: "SIGABRT",
      stderrTail: "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    });
    assert.deepEqual([error.category, error.code, error.retryable], ["resource", "document-out-of-memory", false]);
  });

  it("reports any other death with how it ended and the last stderr lines", () => {
    const error = childExitError({ code: 139, signal: null, stderrTail: "line 1\nSegmentation fault\n" });
    assert.equal(error.code, "document-process-crashed");
    assert.match(error.message, /exit code 139: line 1 \| Segmentation fault/);
  });
});

describe("timeBudgetError and serializeError", () => {
  it("names the budget in seconds", () => {
    assert.match(timeBudgetError(120_000).message, /DOCUMENT_TIME_BUDGET \(120 s\)/);
    assert.equal(timeBudgetError(1).code, "document-time-budget");
  });

  it("keeps the name and message of errors and error-like objects", () => {
    assert.deepEqual(serializeError(new RangeError("x")), { name: "RangeError", message: "x" });
    assert.deepEqual(serializeError({ name: "PasswordException", message: "No password given", code: 1 }), {
      name: "PasswordException",
      message: "No password given",
    });
    assert.deepEqual(serializeError("plain"), { name: "Error", message: "plain" });
  });
});
