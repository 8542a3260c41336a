/**
 * Waveform data as BBC's audiowaveform computes it: the minimum and maximum 16-bit sample of
 * each block of `samplesPerPixel` frames, per output channel. Fed with interleaved s16le PCM in
 * chunks of any size, so memory holds one chunk of audio plus the (samplesPerPixel times
 * smaller) summary, whatever the length of the file.
 *
 * The arithmetic follows audiowaveform's WaveformGenerator so that our files match its output:
 * the mono mix-down is the channel sum divided by the channel count with C integer division
 * (truncation toward zero), a last partial block still yields a point, and 8-bit values are the
 * 16-bit values divided by 256, truncated (WaveformBuffer::save).
 */

export interface WaveformZoom {
  samplesPerPixel: number;
  /** When above 0, replaces samplesPerPixel with floor(sampleRate / pixelsPerSecond). */
  pixelsPerSecond: number;
}

export interface WaveformData {
  sampleRate: number;
  samplesPerPixel: number;
  /** Output channels: 1 for a mix-down, the input's channel count when split. */
  channels: number;
  /** Min/max pairs per channel (audiowaveform's "length"). */
  length: number;
  /** 16-bit values laid out as the file formats want them: per point, per channel, min then max. */
  values: Int16Array;
}

/** audiowaveform refuses a zoom under 2 samples per pixel; so do we. */
export const MIN_SAMPLES_PER_PIXEL = 2;

export function resolveSamplesPerPixel(sampleRate: number, zoom: WaveformZoom): number {
  const samplesPerPixel =
    zoom.pixelsPerSecond > 0 ? Math.floor(sampleRate / zoom.pixelsPerSecond) : zoom.samplesPerPixel;
  return Math.max(MIN_SAMPLES_PER_PIXEL, samplesPerPixel);
}

/** Number of points audio of `frames` frames yields: ceil(frames / samplesPerPixel). */
export const waveformLength = (frames: number, samplesPerPixel: number): number => Math.ceil(frames / samplesPerPixel);

export class WaveformAccumulator {
  private readonly inputChannels: number;
  private readonly outputChannels: number;
  private readonly samplesPerPixel: number;
  private readonly sampleRate: number;
  private readonly min: Int32Array;
  private readonly max: Int32Array;
  private count = 0;
  private frames = 0;
  private values: Int16Array;
  private used = 0;
  /** Bytes of a frame split across two chunks. */
  private carry: Buffer = Buffer.alloc(0);

  constructor(options: { inputChannels: number; sampleRate: number; samplesPerPixel: number; splitChannels: boolean }) {
    if (!Number.isInteger(options.inputChannels) || options.inputChannels < 1)
      throw new RangeError(`invalid channel count ${options.inputChannels}`);
    if (!Number.isInteger(options.samplesPerPixel) || options.samplesPerPixel < MIN_SAMPLES_PER_PIXEL) {
      throw new RangeError(`samples per pixel must be an integer of at least ${MIN_SAMPLES_PER_PIXEL}`);
    }
    this.inputChannels = options.inputChannels;
    this.outputChannels = options.splitChannels ? options.inputChannels : 1;
    this.samplesPerPixel = options.samplesPerPixel;
    this.sampleRate = options.sampleRate;
    this.min = new Int32Array(this.outputChannels);
    this.max = new Int32Array(this.outputChannels);
    this.values = new Int16Array(4096 * this.outputChannels);
    this.resetBlock();
  }

  /** Frames consumed so far (whole frames only). */
  get framesSeen(): number {
    return this.frames;
  }

  /** Consumes interleaved signed 16-bit little-endian PCM. */
  push(chunk: Buffer): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const frameBytes = 2 * this.inputChannels;
    const usable = data.length - (data.length % frameBytes);
    this.carry = usable < data.length ? Buffer.from(data.subarray(usable)) : Buffer.alloc(0);
    // DataView reads little-endian at any alignment: a chunk of a pipe can start at an odd offset.
    const view = new DataView(data.buffer, data.byteOffset, usable);
    if (this.outputChannels === 1) this.pushMixed(view, usable);
    else this.pushSplit(view, usable);
  }

  /** Flushes the last partial block; a trailing partial frame is dropped. */
  finish(): WaveformData {
    if (this.count > 0) this.emitBlock();
    return {
      sampleRate: this.sampleRate,
      samplesPerPixel: this.samplesPerPixel,
      channels: this.outputChannels,
      length: this.used / (2 * this.outputChannels),
      values: this.values.slice(0, this.used),
    };
  }

  private pushMixed(view: DataView, bytes: number): void {
    const channels = this.inputChannels;
    for (let offset = 0; offset < bytes; offset += 2 * channels) {
      let sum = 0;
      for (let channel = 0; channel < channels; channel++) sum += view.getInt16(offset + 2 * channel, true);
      const sample = Math.trunc(sum / channels);
      if (sample < this.min[0]!) this.min[0] = sample;
      if (sample > this.max[0]!) this.max[0] = sample;
      this.frames++;
      if (++this.count === this.samplesPerPixel) this.emitBlock();
    }
  }

  private pushSplit(view: DataView, bytes: number): void {
    const channels = this.inputChannels;
    for (let offset = 0; offset < bytes; offset += 2 * channels) {
      for (let channel = 0; channel < channels; channel++) {
        const sample = view.getInt16(offset + 2 * channel, true);
        if (sample < this.min[channel]!) this.min[channel] = sample;
        if (sample > this.max[channel]!) this.max[channel] = sample;
      }
      this.frames++;
      if (++this.count === this.samplesPerPixel) this.emitBlock();
    }
  }

  private emitBlock(): void {
    if (this.used + 2 * this.outputChannels > this.values.length) {
      const grown = new Int16Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    for (let channel = 0; channel < this.outputChannels; channel++) {
      this.values[this.used++] = this.min[channel]!;
      this.values[this.used++] = this.max[channel]!;
    }
    this.resetBlock();
  }

  private resetBlock(): void {
    this.min.fill(32767);
    this.max.fill(-32768);
    this.count = 0;
  }
}
