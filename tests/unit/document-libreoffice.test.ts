import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { findExecutable, officeExtension, sofficeArgs } from "../../src/processors/document/libreoffice.ts";

describe("sofficeArgs", () => {
  it("converts one file headless with a private profile, no dialogs, to an out dir", () => {
    assert.deepEqual(sofficeArgs("/tmp/job/office/document.docx", "/tmp/job/office/out", "/tmp/job/office/profile"), [
      "-env:UserInstallation=file:///tmp/job/office/profile",
      "--headless",
      "--invisible",
      "--nodefault",
      "--nofirststartwizard",
      "--nolockcheck",
      "--nologo",
      "--norestore",
      "--convert-to",
      "pdf",
      "--outdir",
      "/tmp/job/office/out",
      "/tmp/job/office/document.docx",
    ]);
  });

  it("percent-encodes a profile path with spaces into a valid file URL", () => {
    assert.equal(sofficeArgs("/in.docx", "/out", "/tmp/a b")[0], "-env:UserInstallation=file:///tmp/a%20b");
  });
});

describe("officeExtension", () => {
  it("hints LibreOffice's import filter only where the detected format is unambiguous", () => {
    assert.deepEqual(["docx", "xlsx", "pptx", "odf", "ole", "ooxml"].map(officeExtension), [
      ".docx",
      ".xlsx",
      ".pptx",
      "",
      "",
      "",
    ]);
  });
});

describe("findExecutable", () => {
  it("finds an executable file in PATH and ignores a non-executable one", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "mp-path-"));
    try {
      const first = path.join(root, "a");
      const second = path.join(root, "b");
      await mkdir(first);
      await mkdir(second);
      await writeFile(path.join(first, "soffice"), "not executable");
      await writeFile(path.join(second, "soffice"), "#!/bin/sh\n");
      await chmod(path.join(second, "soffice"), 0o755);
      assert.equal(await findExecutable("soffice", [first, second].join(path.delimiter)), path.join(second, "soffice"));
      assert.equal(await findExecutable("soffice", first), undefined);
      assert.equal(await findExecutable("soffice", ""), undefined);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
