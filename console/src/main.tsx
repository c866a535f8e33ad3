import { render } from 'preact';
import { connect } from './api/client.ts';
import { completeCognitoSignIn } from './api/cognito.ts';
import { type ConsoleConfig, loadConfig } from './api/config.ts';
import { setRoutes } from './api/features.ts';
import {
  type Credentials,
  forgetCredentials,
  signInWithLink,
  storeCredentials,
  storedCredentials,
} from './api/session.ts';
import { Layout } from './components/layout.tsx';
import { DevicePage } from './pages/device.tsx';
import { DevicesPage } from './pages/devices.tsx';
import { FaultsPage } from './pages/faults.tsx';
import { FirmwarePage } from './pages/firmware.tsx';
import { FleetPage } from './pages/fleet.tsx';
import { LoginPage } from './pages/login.tsx';
import { RolloutPage } from './pages/rollout.tsx';
import { NewRolloutPage } from './pages/rollout-new.tsx';
import { RolloutsPage } from './pages/rollouts.tsx';
import { useRoute } from './router.ts';
import './styles.css';

const root = document.getElementById('app') as HTMLElement;

function App(props: { config: ConsoleConfig; onSignOut: () => void }) {
  const route = useRoute();
  const page = (() => {
    switch (route.page) {
      case 'devices':
        return <DevicesPage route={route} />;
      case 'device':
        return <DevicePage deviceId={route.id ?? ''} key={route.id} />;
      case 'firmware':
        return <FirmwarePage local={props.config.mode === 'local'} />;
      case 'rollouts':
        return <RolloutsPage />;
      case 'rollout-new':
        return <NewRolloutPage />;
      case 'rollout':
        return <RolloutPage rolloutId={route.id ?? ''} key={route.id} />;
      case 'faults':
        return <FaultsPage />;
      default:
        return <FleetPage />;
    }
  })();
  return (
    <Layout route={route} onSignOut={props.onSignOut}>
      {page}
    </Layout>
  );
}

/** Credentials from a sign-in that just came back (a local link, Cognito's redirect), else the tab's own. */
async function signIn(config: ConsoleConfig): Promise<Credentials | undefined> {
  const link = /^#login=([A-Za-z0-9_-]+)$/.exec(location.hash)?.[1];
  if (link !== undefined) {
    // Out of the address bar and the history at once: the token is spent either way.
    history.replaceState(null, '', `${location.pathname}#/`);
    const credentials = await signInWithLink(link);
    storeCredentials(credentials);
    return credentials;
  }
  const query = new URLSearchParams(location.search);
  const code = query.get('code');
  if (config.mode === 'aws' && code !== null) {
    history.replaceState(null, '', `${location.pathname}#/`);
    const credentials = await completeCognitoSignIn(config, code, query.get('state') ?? '');
    storeCredentials(credentials);
    return credentials;
  }
  return storedCredentials();
}

async function boot(): Promise<void> {
  const config = await loadConfig();
  setRoutes(config.routes);
  const showLogin = (error?: string) => render(<LoginPage config={config} error={error} />, root);
  let credentials: Credentials | undefined;
  try {
    credentials = await signIn(config);
  } catch (error) {
    showLogin((error as Error).message);
    return;
  }
  if (credentials === undefined) {
    showLogin();
    return;
  }
  const signOut = (why?: string) => {
    forgetCredentials();
    render(null, root);
    showLogin(why);
  };
  connect(config, credentials, () => signOut('Your session has ended; sign in again.'));
  render(<App config={config} onSignOut={() => signOut()} />, root);
}

boot().catch((error: Error) => {
  root.textContent = `The console could not start: ${error.message}`;
});
