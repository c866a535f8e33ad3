/**
 * A complete state-transition table: one cell for every (actor, from, to) of a status enum, so a test
 * can enumerate every change and a function can look up any change. Jobs and commands both keep their
 * rules this way.
 */
export interface TransitionTable<S extends string, A extends string, C> {
  /** Every cell, actor by actor, then from, then to. */
  readonly rows: readonly C[];
  /** The cell of one change. */
  lookup(from: S, to: S, actor: A): C;
}

/** Builds the table by asking `cell` for each (from, to, actor). */
export function transitionTable<S extends string, A extends string, C>(
  statuses: readonly S[],
  actors: readonly A[],
  cell: (from: S, to: S, actor: A) => C,
): TransitionTable<S, A, C> {
  const rows: C[] = [];
  const index = new Map<string, C>();
  for (const actor of actors)
    for (const from of statuses)
      for (const to of statuses) {
        const row = cell(from, to, actor);
        rows.push(row);
        index.set(`${actor}:${from}:${to}`, row);
      }
  return {
    rows,
    lookup(from, to, actor) {
      const row = index.get(`${actor}:${from}:${to}`);
      // Unreachable for typed input: the table has every cell of the status enum.
      if (row === undefined) throw new TypeError(`no transition cell for ${actor} ${from} → ${to}`);
      return row;
    },
  };
}
