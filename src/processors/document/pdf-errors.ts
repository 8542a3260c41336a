import { type MediaError, processingError, resourceError } from "../../errors.ts";

/**
 * How pdf.js failures and deaths of the pdf.js process become MediaErrors. A PDF that pdf.js
 * cannot read will not become readable on a retry, so none of these is retried.
 */

/** An error as it crosses from the pdf.js process (pdf.js exception classes do not survive IPC). */
export interface SerializedError {
  name: string;
  message: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  if (typeof error === "object" && error !== null && "message" in error) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    return { name: typeof name === "string" ? name : "Error", message: String(message) };
  }
  return { name: "Error", message: String(error) };
}

export function documentError(error: SerializedError): MediaError {
  switch (error.name) {
    case "PasswordException":
      return processingError(
        "document-password-protected",
        "the PDF is protected by a password and cannot be opened without it",
      );
    case "InvalidPDFException":
      return processingError("document-invalid", `not a readable PDF: ${error.message}`);
    default:
      return processingError("document-unreadable", `pdf.js could not read the PDF: ${error.name}: ${error.message}`);
  }
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
}

/** The pdf.js process died during a job without our asking: out of heap, or a crash. */
export function childExitError(exit: ChildExit): MediaError {
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(exit.stderrTail)) {
    return resourceError(
      "document-out-of-memory",
      `the PDF needs more memory than DOCUMENT_MAX_HEAP_MB allows (pdf.js process ended with ${how})`,
    );
  }
  const detail = exit.stderrTail.trim().split("\n").slice(-3).join(" | ").slice(0, 500);
  return resourceError(
    "document-process-crashed",
    `the pdf.js process ended with ${how}${detail ? `: ${detail}` : ""}`,
  );
}

export const timeBudgetError = (budgetMs: number): MediaError =>
  resourceError(
    "document-time-budget",
    `the document took longer than DOCUMENT_TIME_BUDGET (${Math.round(budgetMs / 1000)} s); its pdf.js process was stopped`,
  );
