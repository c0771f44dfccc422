import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";

/** What one operation asks for once every fragment spread is expanded. */
export interface Shape {
  /** Nesting below the root fields (`{ a }` is 0, `{ a { b } }` is 1), as graphql-depth-limit counts. */
  depth: number;
  /** Field selections, each spread counted as often as it is spread. */
  selections: number;
  aliases: number;
  directives: number;
  /** Fields at the root level (for a mutation: how many writes it carries). */
  rootFields: number;
}

const INTROSPECTION_ROOTS = new Set(["__schema", "__type"]);

const empty = (): Shape => ({ depth: 0, selections: 0, aliases: 0, directives: 0, rootFields: 0 });

/**
 * The shape of every operation in `document`, in time linear in the document's size: each
 * fragment's shape is computed once and multiplied where it is spread, so fragments that each
 * spread the next twice (an exponential expansion) cost no more than reading them. Counts may be
 * astronomically large; they are only compared with limits. Meant for validated documents; an
 * unknown or cyclic spread counts as empty rather than looping.
 */
export function operationShapes(document: DocumentNode): Map<OperationDefinitionNode, Shape> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const memo = new Map<string, Shape>();

  const fragmentShape = (name: string): Shape => {
    const known = memo.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    memo.set(name, empty()); // in progress: a cycle (not valid anyway) ends here
    const shape = fragment ? setShape(fragment.selectionSet) : empty();
    shape.directives += fragment?.directives?.length ?? 0;
    memo.set(name, shape);
    return shape;
  };

  const setShape = (set: SelectionSetNode): Shape => {
    const s = empty();
    for (const sel of set.selections) {
      s.directives += sel.directives?.length ?? 0;
      if (sel.kind === Kind.FIELD) {
        s.selections++;
        s.rootFields++;
        if (sel.alias) s.aliases++;
        if (sel.selectionSet) {
          const child = setShape(sel.selectionSet);
          add(s, child);
          // Introspection answers from the schema in memory, whatever its nesting (the standard
          // query nests TypeRef 14 deep); it still counts in selections, tokens and size, and is
          // refused outright when introspection is off.
          if (!INTROSPECTION_ROOTS.has(sel.name.value)) s.depth = Math.max(s.depth, child.depth + 1);
        }
        continue;
      }
      const inner = sel.kind === Kind.INLINE_FRAGMENT ? setShape(sel.selectionSet) : fragmentShape(sel.name.value);
      add(s, inner);
      s.rootFields += inner.rootFields;
      s.depth = Math.max(s.depth, inner.depth);
    }
    return s;
  };

  const shapes = new Map<OperationDefinitionNode, Shape>();
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const shape = setShape(d.selectionSet);
    shape.directives += d.directives?.length ?? 0;
    shapes.set(d, shape);
  }
  return shapes;
}

function add(into: Shape, from: Shape): void {
  into.selections += from.selections;
  into.aliases += from.aliases;
  into.directives += from.directives;
}
