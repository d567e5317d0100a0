/**
 * Typed errors. Every error that bad input can cause is a FormatError: it names the input, the
 * byte offset and what was expected, so the CLI can print one line and exit non-zero.
 */

export class InitoverlayfsError extends Error {
  override name = "InitoverlayfsError";
}

/** Malformed or unsupported input data. `offset` is a byte offset into `source`. */
export class FormatError extends InitoverlayfsError {
  override name = "FormatError";
  constructor(
    readonly format: string,
    readonly offset: number | undefined,
    readonly detail: string,
    public source?: string,
  ) {
    super(FormatError.render(format, offset, detail, source));
  }

  /** Attach the file name once the edge (CLI, pipeline) knows it. */
  withSource(source: string): FormatError {
    if (this.source === undefined) {
      this.source = source;
      this.message = FormatError.render(this.format, this.offset, this.detail, source);
    }
    return this;
  }

  private static render(format: string, offset: number | undefined, detail: string, source?: string): string {
    const where = [source, offset === undefined ? undefined : `offset ${offset}`].filter(Boolean).join(": ");
    return `${where ? where + ": " : ""}${format}: ${detail}`;
  }
}

/** Input that is well formed but uses something this version does not implement. */
export class UnsupportedError extends FormatError {
  override name = "UnsupportedError";
}

/** A usage error on the command line or in API options. */
export class UsageError extends InitoverlayfsError {
  override name = "UsageError";
}
