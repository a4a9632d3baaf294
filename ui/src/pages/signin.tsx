// Who is using Rollcall: the sign-in screen (also the lock screen after the idle time).
import { useState } from "preact/hooks";
import { api, errorText } from "../api";
import { Notice } from "../components/common";

export function SignInPage({ schoolName, reason, onSignedIn }: { schoolName: string | null; reason: string | null; onSignedIn: () => void }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api.signIn(name, password);
      setPassword("");
      onSignedIn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="setup">
      <form class="card" onSubmit={submit} aria-label="Sign in">
        <h1>{schoolName || "Rollcall"}</h1>
        <p>Who is using Rollcall?</p>
        {reason ? <Notice kind="info">{reason}</Notice> : null}
        <label>
          Name <input name="signin-name" autocomplete="username" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Password <input name="signin-password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {error ? <Notice kind="error">{error}</Notice> : null}
        <button class="primary" type="submit" id="sign-in" disabled={busy || !name.trim() || !password}>
          Sign in
        </button>
      </form>
    </main>
  );
}
