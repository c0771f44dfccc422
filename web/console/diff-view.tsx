import { diffLines } from "diff";
import { useMemo } from "react";

/** A line diff of two YAML documents (jsdiff), added lines green, removed red, with +/- for non-visual readers. */
export function DiffView({ before, after, label }: { before: string; after: string; label: string }) {
  const parts = useMemo(() => diffLines(before, after), [before, after]);
  return (
    // A scrolling region must take keyboard focus, or keyboard users cannot scroll it.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: see above
    <section className="diff" aria-label={label} tabIndex={0}>
      {parts.flatMap((part, i) =>
        part.value
          .replace(/\n$/, "")
          .split("\n")
          .map((line, j) => {
            const kind = part.added ? "added" : part.removed ? "removed" : "same";
            const mark = part.added ? "+" : part.removed ? "-" : " ";
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: lines of a diff have no identity of their own
              <span key={`${i}-${j}`} className={`diff-line diff-${kind}`} data-diff={kind}>
                {mark} {line}
              </span>
            );
          }),
      )}
    </section>
  );
}
