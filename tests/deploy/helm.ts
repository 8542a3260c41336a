import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** Runs `helm template` on the chart and parses what it prints, the way the cluster would receive it. */

export const CHART_DIR = fileURLToPath(new URL("../../charts/media-processor/", import.meta.url));

/**
 * Helm built with `go install` reports Kubernetes v1.20 unless told otherwise, which the chart's
 * kubeVersion (>= 1.25) refuses; every render names a supported version explicitly.
 */
export const KUBE_VERSION = "1.31.0";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Each test narrows what it reads; the manifests are plain data.
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [field: string]: unknown;
}

/** helm on PATH, or where `go install helm.sh/helm/v3/cmd/helm@…` puts it (scripts/check-deploy.sh does that). */
export function findHelm(): string | undefined {
  const onPath = spawnSync("helm", ["version", "--short"], { encoding: "utf8" });
  if (onPath.status === 0) return "helm";
  const gopath =
    process.env.GOPATH ??
    (spawnSync("go", ["env", "GOPATH"], { encoding: "utf8" }).stdout?.trim() || path.join(os.homedir(), "go"));
  const candidate = path.join(gopath, "bin", "helm");
  return existsSync(candidate) ? candidate : undefined;
}

export type RenderResult = { ok: true; objects: K8sObject[]; text: string } | { ok: false; error: string };

export function helmTemplate(helm: string, args: string[]): RenderResult {
  const result = spawnSync(helm, ["template", "rel", CHART_DIR, "--kube-version", KUBE_VERSION, ...args], {
    encoding: "utf8",
  });
  if (result.status !== 0) return { ok: false, error: `${result.stderr}${result.stdout}` };
  return { ok: true, objects: parseManifests(result.stdout), text: result.stdout };
}

/** Strict parse: duplicate keys and YAML errors fail, as they would for kubectl. */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text, { uniqueKeys: true })) {
    if (document.errors.length > 0)
      throw new Error(`invalid YAML from helm: ${document.errors.map((error) => error.message).join("; ")}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

export function helmLint(helm: string, args: string[]): { ok: boolean; output: string } {
  try {
    const output = execFileSync(helm, ["lint", "--strict", "--kube-version", KUBE_VERSION, CHART_DIR, ...args], {
      encoding: "utf8",
      stdio: "pipe",
    });
    return { ok: true, output };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}
