import path from "node:path";
import { pathToFileURL } from "node:url";
import type { AppConfig } from "../config/config.ts";
import { processingError } from "../errors.ts";
import type { DetectedMedia } from "../media/detected-media.ts";
import type { Processor, ProcessorModuleExport } from "./processor.ts";

/**
 * Picks the processor for a detected media type. Plug-ins named in PROCESSOR_MODULES come
 * first, so an operator can override a built-in for the formats it accepts.
 */
export class ProcessorRegistry {
  private readonly processors: Processor[];

  constructor(processors: Processor[]) {
    const names = new Set<string>();
    for (const processor of processors) {
      if (names.has(processor.name)) throw new Error(`two processors are named "${processor.name}"`);
      names.add(processor.name);
    }
    this.processors = processors;
  }

  /** Closes every processor that holds resources between jobs; failures do not stop the others. */
  async close(): Promise<void> {
    await Promise.allSettled(this.processors.map((processor) => processor.close?.()));
  }

  get names(): string[] {
    return this.processors.map((processor) => processor.name);
  }

  /** Throws `unsupported-type` (processing, not retried) when nothing accepts the media. */
  pick(media: DetectedMedia): Processor {
    if (media.kind === "playlist") {
      throw processingError(
        "playlist-refused",
        `${media.format} playlists are refused: they make media tools open other files or URLs`,
      );
    }
    if (media.unsupported) {
      throw processingError(
        "unsupported-by-build",
        `${media.unsupported} is not supported by this build (ffmpeg 5.1 cannot read it)`,
      );
    }
    const processor = this.processors.find((candidate) => candidate.accepts(media));
    if (!processor)
      throw processingError("unsupported-type", `no processor accepts ${media.kind}/${media.format} (${media.mime})`);
    return processor;
  }
}

/** Imports each plug-in module; a module that does not export a processor stops the start. */
export async function loadPluginProcessors(modulePaths: string[], config: AppConfig): Promise<Processor[]> {
  const loaded: Processor[] = [];
  for (const modulePath of modulePaths) {
    const specifier =
      modulePath.startsWith(".") || path.isAbsolute(modulePath)
        ? pathToFileURL(path.resolve(modulePath)).href
        : modulePath;
    const module = (await import(specifier)) as { default?: ProcessorModuleExport; processor?: ProcessorModuleExport };
    const exported = module.default ?? module.processor;
    const processor = typeof exported === "function" ? await exported(config) : exported;
    if (
      !processor ||
      typeof processor.accepts !== "function" ||
      typeof processor.process !== "function" ||
      !processor.name
    ) {
      throw new Error(`PROCESSOR_MODULES: ${modulePath} does not export a Processor (default or "processor")`);
    }
    loaded.push(processor);
  }
  return loaded;
}
