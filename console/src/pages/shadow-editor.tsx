import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api/client.ts';
import type { Shadow } from '../api/types.ts';
import { ErrorBox } from '../components/layout.tsx';
import { desiredPatch, isObject, type Json } from './shadow-patch.ts';

const pretty = (value: unknown) => JSON.stringify(value ?? {}, null, 2);

/**
 * The editor of a shadow's desired state. The edit is based on the version it was loaded from and sent
 * with it: if someone changed the shadow meanwhile the API answers 409 and nothing is applied; the editor
 * says so and offers to load their change. While the text is untouched it follows the live shadow.
 */
export function DesiredEditor(props: { thingName: string; shadow: Shadow | undefined; onSaved: () => void }) {
  const live = props.shadow;
  const [base, setBase] = useState<{ version: number | undefined; desired: Json }>({
    version: undefined,
    desired: {},
  });
  const [text, setText] = useState('{}');
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [conflict, setConflict] = useState(false);
  const [saved, setSaved] = useState<number | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const [current, setCurrent] = useState<Shadow | undefined>(undefined);
  const load = (shadow: Shadow | undefined = live) => {
    const desired = (shadow?.state?.desired ?? {}) as Json;
    setBase({ version: shadow?.version, desired });
    setCurrent(undefined);
    setText(pretty(desired));
    setTouched(false);
    setConflict(false);
    setError(undefined);
  };
  // An untouched editor follows the live shadow forward, never back to an older poll's answer.
  useEffect(() => {
    if (!touched && (base.version === undefined || (live?.version ?? 0) > base.version)) load();
  }, [live?.version, touched]);

  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    let edited: unknown;
    try {
      edited = JSON.parse(text);
    } catch (failure) {
      setError(new Error(`the desired state is not JSON: ${(failure as Error).message}`));
      return;
    }
    if (!isObject(edited)) {
      setError(new Error('the desired state must be a JSON object'));
      return;
    }
    const patch = desiredPatch(base.desired, edited);
    if (Object.keys(patch).length === 0) {
      setError(new Error('nothing changed'));
      return;
    }
    setBusy(true);
    const path = `/things/${encodeURIComponent(props.thingName)}/shadow`;
    try {
      // The version counts every change of the document, the device's reports too. A report that came in
      // meanwhile leaves desired as the edit saw it: read first and send on the current version, so a
      // chatty device does not turn every save into a refused request. A change of desired by someone
      // else is a real conflict: sent on the edit's version, the API refuses it (409), shown as such.
      const before = await get<Shadow>(path).catch(() => undefined);
      let version =
        before !== undefined && pretty(before.state?.desired ?? {}) === pretty(base.desired)
          ? before.version
          : base.version;
      // A report can still land between that read and the write: then send again on the new version.
      for (let attempt = 0; ; attempt++) {
        try {
          const answer = await post<{ version: number }>(path, {
            state: { desired: patch },
            ...(version === undefined ? {} : { version }),
          });
          setSaved(answer.version);
          setTouched(false);
          props.onSaved();
          return;
        } catch (failure) {
          if (!(failure instanceof ApiError) || failure.status !== 409 || attempt >= 2) throw failure;
          const now = await get<Shadow>(path);
          if (pretty(now.state?.desired ?? {}) !== pretty(base.desired)) {
            setCurrent(now);
            throw failure;
          }
          version = now.version;
        }
      }
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 409) setConflict(true);
      else setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="shadow-editor" onSubmit={save}>
      <label for="desired-editor">
        Desired state (edit and save; based on version {base.version ?? 'none'})
      </label>
      <textarea
        id="desired-editor"
        name="desired"
        rows={10}
        spellcheck={false}
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setTouched(true);
        }}
      />
      {conflict && (
        <div class="error" role="alert" id="shadow-conflict">
          <strong>409 Conflict: </strong>
          someone else changed the desired state after you loaded version {base.version} (it is at version{' '}
          {current?.version ?? live?.version ?? '?'} now). Nothing was saved. Load their change, then edit
          again.{' '}
          <button type="button" onClick={() => load(current ?? live)}>
            Load the current desired state
          </button>
        </div>
      )}
      <ErrorBox error={error} what="shadow update" />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save desired'}
        </button>
        {touched && (
          <button type="button" class="secondary" onClick={() => load()}>
            Discard
          </button>
        )}
        {saved !== undefined && <span class="ok">Saved as version {saved}; the device gets the delta.</span>}
      </div>
    </form>
  );
}
