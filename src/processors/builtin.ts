import type { AppConfig } from "../config/config.ts";
import { createAudioProcessor } from "./audio.processor.ts";
import { createDocumentProcessor } from "./document.processor.ts";
import { createImageProcessor } from "./image.processor.ts";
import type { Processor } from "./processor.ts";
import { createVideoProcessor } from "./video.processor.ts";

/** The built-in processors, in the order the registry tries them. One line each. */
export function builtinProcessors(config: AppConfig): Processor[] {
  return [
    createImageProcessor(config),
    createAudioProcessor(config),
    createDocumentProcessor(config),
    createVideoProcessor(config),
  ];
}
