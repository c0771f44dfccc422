import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import "./explorer.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { useMemo, useState } from "react";
import { createRoot } from "react-dom/client";

// The PAK lives in this tab's session only: closing the tab forgets it.
const PAK_KEY = "brokkr.pak";
const DEFAULT_QUERY = "{\n  me {\n    role\n    id\n  }\n}\n";
// A link may carry the operation to open with (`/graphql?query=…`), so it can be shared.
const linkedQuery = new URLSearchParams(location.search).get("query");

function fetcherFor(pak: string) {
  const authorization = pak ? `Bearer ${pak}` : undefined;
  const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`;
  return createGraphiQLFetcher({
    url: "/graphql",
    subscriptionUrl: wsUrl,
    headers: authorization ? { authorization } : {},
    wsConnectionParams: authorization ? { authorization } : {},
  });
}

function Explorer() {
  const [pak, setPak] = useState(() => sessionStorage.getItem(PAK_KEY) ?? "");
  const [draft, setDraft] = useState(pak);
  const fetcher = useMemo(() => fetcherFor(pak), [pak]);
  const signIn = (event: React.FormEvent) => {
    event.preventDefault();
    const value = draft.trim();
    sessionStorage.setItem(PAK_KEY, value);
    setPak(value);
  };
  return (
    <div className="explorer">
      <form className="pak-bar" onSubmit={signIn}>
        <strong>Brokkr-TS</strong>
        <label htmlFor="pak">PAK</label>
        <input
          id="pak"
          type="password"
          autoComplete="off"
          placeholder="brokkr_BR…"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit">Use key</button>
        <span role="status">{pak ? "key set for this tab" : "no key: only public errors"}</span>
      </form>
      <div className="graphiql-host">
        {/* A new key means a new fetcher and a new websocket: remount so the schema is fetched again. */}
        <GraphiQL key={pak} fetcher={fetcher} defaultQuery={DEFAULT_QUERY} initialQuery={linkedQuery ?? undefined} />
      </div>
    </div>
  );
}

const root = document.getElementById("root");
if (root) createRoot(root).render(<Explorer />);
