"use client";
/**
 * The app: sign-in, the theme, and three views (Chat, Documents, Admin) chosen by the URL's hash,
 * offered as the signed-in role allows. Components are Radix Themes (accessible primitives with
 * light and dark themes, styled by one static stylesheet: nothing injected at run time).
 */
import { MoonIcon, SunIcon } from "@radix-ui/react-icons";
import {
  Badge,
  Box,
  Button,
  Callout,
  Flex,
  Heading,
  IconButton,
  Link,
  TabNav,
  Text,
  TextField,
  Theme,
  Tooltip,
} from "@radix-ui/themes";
import { setNonce } from "get-nonce";
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { Api, ApiError, type AuthMethods, can, type Me } from "../lib/api";
import Admin from "./Admin";
import Chat from "./Chat";
import Documents from "./Documents";

// The nonce the server gave this page for the one inline style it allows: the scroll lock of a
// modal dialog (react-style-singleton reads it through get-nonce). See src/routes/web.ts.
const styleNonce = document.querySelector<HTMLMetaElement>('meta[name="rag-style-nonce"]')?.content;
if (styleNonce) setNonce(styleNonce);

/** Where a key or token the user typed is kept: this tab's session storage, never a cookie. */
const CREDENTIAL = "rag-credential";
const THEME = "rag-theme";

export interface Session {
  readonly api: Api;
  readonly me: Me;
  /**
   * Shows an error (or a notice) in the page's alert region; a refused credential (401) sends the
   * user back to signing in.
   */
  readonly notify: (error: unknown) => void;
}

const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside the signed-in app");
  return session;
}

export const messageOf = (error: unknown) =>
  error instanceof ApiError || error instanceof Error ? error.message : String(error);

type View = "chat" | "documents" | "admin";

function viewFromHash(): View {
  const hash = window.location.hash.replace("#", "");
  return hash === "documents" || hash === "admin" ? hash : "chat";
}

function initialTheme(): "light" | "dark" {
  const stored = window.localStorage.getItem(THEME);
  if (stored === "light" || stored === "dark") return stored;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export default function App() {
  const [theme, setTheme] = useState<"light" | "dark">(initialTheme);
  const [credential, setCredential] = useState<string | undefined>(
    () => window.sessionStorage.getItem(CREDENTIAL) ?? undefined,
  );
  const api = useMemo(() => new Api(() => credential), [credential]);
  const [me, setMe] = useState<Me | undefined>();
  const [methods, setMethods] = useState<AuthMethods | undefined>();
  const [alert, setAlert] = useState<string | undefined>(() => {
    const error = new URLSearchParams(window.location.search).get("sso_error");
    // The reason is shown, not left in the address bar.
    if (error)
      window.history.replaceState(null, "", window.location.pathname + window.location.hash);
    return error ? `Single sign-on failed: ${error}` : undefined;
  });
  const [ready, setReady] = useState<{ ok: boolean; checks: Record<string, string> }>();
  const [view, setView] = useState<View>(viewFromHash);

  useEffect(() => {
    document.documentElement.style.colorScheme = theme;
    window.localStorage.setItem(THEME, theme);
  }, [theme]);

  useEffect(() => {
    const onHash = () => setView(viewFromHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  const identify = useCallback(async () => {
    const offered = await api.methods().catch(() => undefined);
    setMethods(offered);
    try {
      setMe(await api.me());
      setAlert((a) => (a?.startsWith("This server needs") ? undefined : a));
    } catch (error) {
      setMe(undefined);
      if (error instanceof ApiError && error.status === 401) {
        if (credential) {
          window.sessionStorage.removeItem(CREDENTIAL);
          setCredential(undefined);
          setAlert(`Signing in failed: ${error.message}`);
        } else
          setAlert(
            (a) =>
              a ??
              `This server needs an API key or access token${offered?.sso ? ", or single sign-on" : ""}: sign in below.`,
          );
      } else setAlert(messageOf(error));
    }
  }, [api, credential]);

  useEffect(() => {
    void identify();
    void api.ready().then(setReady, () => setReady({ ok: false, checks: {} }));
  }, [api, identify]);

  const signOut = async () => {
    window.sessionStorage.removeItem(CREDENTIAL);
    setCredential(undefined);
    if (me?.kind === "session") {
      const { endSessionUrl } = await api.logout().catch(() => ({ endSessionUrl: null }));
      if (endSessionUrl) window.location.assign(endSessionUrl);
    }
    setMe(undefined);
  };

  const session = useMemo<Session | undefined>(
    () =>
      me
        ? {
            api,
            me,
            notify: (error: unknown) => {
              if (error instanceof ApiError && error.status === 401) void identify();
              else setAlert(typeof error === "string" ? error : messageOf(error));
            },
          }
        : undefined,
    [api, me, identify],
  );

  const views: { id: View; label: string; allowed: boolean }[] = [
    { id: "chat", label: "Chat", allowed: true },
    { id: "documents", label: "Documents", allowed: true },
    { id: "admin", label: "Admin", allowed: can(me?.role, "admin") },
  ];
  const current = views.find((v) => v.id === view && v.allowed)?.id ?? "chat";

  return (
    <Theme appearance={theme} accentColor="indigo" grayColor="slate" radius="medium">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <div className="app-shell">
        <Box asChild px="4" py="3">
          <header>
            <Flex align="center" gap="3" wrap="wrap">
              <Heading as="h1" size="5" mr="2">
                rag-platform
              </Heading>
              <Tooltip content="GET /readyz: each backend's readiness">
                <Badge
                  highContrast
                  color={ready === undefined ? "gray" : ready.ok ? "green" : "red"}
                  aria-label="Service status"
                >
                  {ready === undefined
                    ? "checking…"
                    : ready.ok
                      ? "ready"
                      : `not ready: ${Object.entries(ready.checks)
                          .filter(([, v]) => v !== "ok")
                          .map(([k]) => k)
                          .join(", ")}`}
                </Badge>
              </Tooltip>
              {session && (
                <TabNav.Root aria-label="Views">
                  {views
                    .filter((v) => v.allowed)
                    .map((v) => (
                      <TabNav.Link key={v.id} href={`#${v.id}`} active={current === v.id}>
                        {v.label}
                      </TabNav.Link>
                    ))}
                </TabNav.Root>
              )}
              <Flex ml="auto" align="center" gap="3">
                {me && (
                  <Text size="2" color="gray" data-testid="whoami">
                    {me.kind === "local"
                      ? "embedded mode: no sign-in"
                      : `signed in: ${me.role}${me.name || me.subject ? ` (${me.name ?? me.subject})` : ""}`}
                  </Text>
                )}
                {(me ? me.kind !== "local" : credential !== undefined) && (
                  <Button variant="soft" onClick={() => void signOut()}>
                    Sign out
                  </Button>
                )}
                <IconButton
                  variant="ghost"
                  aria-label={theme === "dark" ? "Use the light theme" : "Use the dark theme"}
                  onClick={() => setTheme(theme === "dark" ? "light" : "dark")}
                >
                  {theme === "dark" ? <SunIcon /> : <MoonIcon />}
                </IconButton>
              </Flex>
            </Flex>
          </header>
        </Box>
        <Box asChild px="4" pb="4" style={{ flex: 1 }}>
          <main id="main" tabIndex={-1}>
            <div role="alert" aria-live="assertive" data-testid="alert">
              {alert && (
                <Callout.Root color="red" mb="3">
                  <Callout.Text>
                    {alert}{" "}
                    <Button size="1" variant="ghost" onClick={() => setAlert(undefined)}>
                      Dismiss
                    </Button>
                  </Callout.Text>
                </Callout.Root>
              )}
            </div>
            {session ? (
              <SessionContext.Provider value={session}>
                {current === "chat" && <Chat />}
                {current === "documents" && <Documents />}
                {current === "admin" && <Admin ready={ready} />}
              </SessionContext.Provider>
            ) : (
              <SignIn
                methods={methods}
                onCredential={(value) => {
                  window.sessionStorage.setItem(CREDENTIAL, value);
                  setAlert(undefined);
                  setCredential(value);
                }}
              />
            )}
          </main>
        </Box>
        <Box asChild px="4" py="2">
          <footer>
            <Text size="1" color="gray">
              <Link href="/docs">API reference (OpenAPI)</Link> · a key or token you type stays in
              this tab (session storage) and goes only to this server
            </Text>
          </footer>
        </Box>
      </div>
    </Theme>
  );
}

function SignIn({
  methods,
  onCredential,
}: {
  methods: AuthMethods | undefined;
  onCredential: (value: string) => void;
}) {
  const [value, setValue] = useState("");
  return (
    <Flex direction="column" gap="4" maxWidth="28rem" mx="auto" mt="8">
      <Heading as="h2" size="6">
        Sign in
      </Heading>
      {methods?.sso && (
        <Button asChild size="3">
          <a href="/auth/login">Sign in with single sign-on</a>
        </Button>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim()) onCredential(value.trim());
        }}
      >
        <Flex direction="column" gap="2">
          <Text as="label" htmlFor="credential" size="2" weight="medium">
            API key or access token
          </Text>
          <TextField.Root
            id="credential"
            type="password"
            placeholder="rag_…"
            autoComplete="off"
            spellCheck={false}
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
          <Button type="submit" variant="soft">
            Sign in with the key
          </Button>
        </Flex>
      </form>
    </Flex>
  );
}
