"use client";
// The whole app renders in the browser: the exported page is an empty shell, so it carries no
// inline style the runtime's Content-Security-Policy would refuse (React sets styles through the
// DOM, which the policy allows).
import dynamic from "next/dynamic";

const App = dynamic(() => import("../components/App"), {
  ssr: false,
  loading: () => <p className="loading">Loading…</p>,
});

export default function Page() {
  return <App />;
}
