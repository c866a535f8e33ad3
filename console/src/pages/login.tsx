import { startCognitoSignIn } from '../api/cognito.ts';
import type { ConsoleConfig } from '../api/config.ts';

/** Signing in: the local platform's one-time link, or Cognito's managed login in AWS. */
export function LoginPage(props: { config: ConsoleConfig; error?: string }) {
  const config = props.config;
  return (
    <main class="login">
      <h1>fleetkit console</h1>
      {props.error !== undefined && (
        <div class="error" role="alert">
          {props.error}
        </div>
      )}
      {config.mode === 'local' ? (
        <>
          <p>
            Open the one-time sign-in link that <code>npm start</code> printed, or get a new one (it works
            once, for 10 minutes):
          </p>
          <pre>npm run cli -- console</pre>
          <p class="muted">
            The link signs this tab in with short-lived credentials derived from the platform's operator key;
            the key itself never reaches the browser.
          </p>
        </>
      ) : (
        <button type="button" onClick={() => void startCognitoSignIn(config)}>
          Sign in
        </button>
      )}
    </main>
  );
}
