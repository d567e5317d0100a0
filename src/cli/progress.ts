/** Progress on stderr, only when stderr is a terminal; silent otherwise (logs and pipes stay clean). */
export interface Progress {
  update(done: number, total: number, label?: string): void;
  done(): void;
}

export function progress(title: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  let shown = false;
  return {
    update(done, total, label) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      shown = true;
      const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
      stream.write(`\r\x1b[K${title}: ${pct}%${label ? " " + label : ""}`);
    },
    done() {
      if (shown) stream.write("\r\x1b[K");
    },
  };
}
