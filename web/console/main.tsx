import "@mantine/core/styles.css";
import "./console.css";
import { MantineProvider } from "@mantine/core";
import { useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";
import { ME, type Me, openSession, PAK_KEY } from "./api.js";
import { FleetStore } from "./fleet-store.js";
import { Layout } from "./layout.js";
import { ReconnectContext } from "./live.js";
import { SignIn } from "./sign-in.js";

function Console() {
  const [pak, setPak] = useState(() => sessionStorage.getItem(PAK_KEY) ?? "");
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const session = useMemo(() => (pak ? openSession(pak) : null), [pak]);
  useEffect(() => () => session?.dispose(), [session]);

  useEffect(() => {
    if (!session) return;
    let live = true;
    session.client
      .query(ME, {}, { requestPolicy: "network-only" })
      .toPromise()
      .then((result) => {
        if (!live) return;
        const who = result.data?.me as Me | undefined;
        if (who?.role === "ADMIN") return setMe(who);
        setError(
          who ? "This key cannot read the fleet: sign in with the admin's or a user's key." : "The broker refused this key.",
        );
        sessionStorage.removeItem(PAK_KEY);
        setPak("");
      });
    return () => {
      live = false;
    };
  }, [session]);

  const fleet = useMemo(() => (session && me ? new FleetStore(session.client, session.onReconnect) : null), [session, me]);
  useEffect(() => () => fleet?.dispose(), [fleet]);

  const signIn = (key: string) => {
    setError(null);
    setMe(null);
    sessionStorage.setItem(PAK_KEY, key);
    setPak(key);
  };
  const signOut = () => {
    sessionStorage.removeItem(PAK_KEY);
    setMe(null);
    setPak("");
  };

  if (!session || !me || !fleet) return <SignIn onSignIn={signIn} error={error} checking={!!session && !error} />;
  return (
    <Provider value={session.client}>
      <ReconnectContext.Provider value={session.onReconnect}>
        <Layout me={me} fleet={fleet} onSignOut={signOut} />
      </ReconnectContext.Provider>
    </Provider>
  );
}

const root = document.getElementById("root");
if (root)
  createRoot(root).render(
    <MantineProvider defaultColorScheme="light">
      <Console />
    </MantineProvider>,
  );
